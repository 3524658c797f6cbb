// The jsforce side of the Salesforce connector: the pinned REST API version, one
// authenticated jsforce Connection per connector call (refreshing its session through
// jsforce's own refresh hook and handing new tokens back to the engine), deadlines on
// every call, and Salesforce's error codes classified into the engine's few. jsforce is
// loaded on first use: every CLI command and role imports the connector registry, and
// jsforce alone costs ~140 ms of start-up.
import type { Connection, OAuth2 } from 'jsforce';
import { env } from '../../env.ts';
import { ConnectorError, type ConnectorContext, type Credentials } from '../connector.ts';

/** The one place the REST API version is pinned (Summer '24 and later all serve it). */
export const SALESFORCE_API_VERSION = '62.0';
/** A single REST call that has not answered by then is abandoned and retried by the engine. */
export const CALL_DEADLINE_MS = 60_000;
/**
 * Salesforce's daily allowance is a rolling 24-hour window and its refusal says nothing
 * about when room frees up, so a paused connection looks again after an hour.
 */
export const QUOTA_RECHECK_MS = 3_600_000;

export function loginUrl(): string {
  return env().SALESFORCE_LOGIN_URL.replace(/\/+$/, '');
}

const loadJsforce = () => import('jsforce');
let jsforceModule: ReturnType<typeof loadJsforce> | null = null;
/** jsforce, imported once on first use. */
export function jsforce(): ReturnType<typeof loadJsforce> {
  jsforceModule ??= loadJsforce();
  return jsforceModule;
}

/** The connected app's id and secret, or null when this instance has none configured. */
export function connectedApp(): { clientId: string; clientSecret: string } | null {
  const e = env();
  return e.SALESFORCE_CLIENT_ID && e.SALESFORCE_CLIENT_SECRET ? { clientId: e.SALESFORCE_CLIENT_ID, clientSecret: e.SALESFORCE_CLIENT_SECRET } : null;
}

export async function oauthClient(redirectUri?: string): Promise<OAuth2 | null> {
  const app = connectedApp();
  if (!app) return null;
  const { OAuth2 } = await jsforce();
  return new OAuth2({ loginUrl: loginUrl(), ...app, redirectUri });
}

// jsforce's refresh delegate rewraps a failed refresh as a plain Error, losing whether the
// grant was refused (reauthorize) or the network failed (retry): remember the original.
const refreshFailures = new WeakMap<Connection, unknown>();

/** An authenticated connection for this connector context; refreshed tokens are saved back. */
export function connect(ctx: ConnectorContext): Promise<Connection> {
  return connectWith(ctx.credentials(), (next) => {
    ctx.saveCredentials({ ...ctx.credentials(), ...next }).catch((err: unknown) => ctx.log.warn({ err }, 'could not save refreshed Salesforce credentials'));
  });
}

/** A connection from bare credentials (connect-time checks); onRefresh gets renewed tokens. */
export async function connectWith(creds: Credentials, onRefresh: (next: Pick<Credentials, 'accessToken' | 'instanceUrl'>) => void = () => {}): Promise<Connection> {
  if (!creds.instanceUrl) throw new ConnectorError('auth_expired', 'This Salesforce connection has no instance URL: reconnect Salesforce');
  const oauth2 = creds.refreshToken ? await oauthClient() : null;
  const { Connection } = await jsforce();
  const conn: Connection = new Connection({
    instanceUrl: creds.instanceUrl,
    accessToken: creds.accessToken,
    refreshToken: creds.refreshToken ?? undefined,
    version: SALESFORCE_API_VERSION,
    ...(oauth2
      ? {
          oauth2,
          refreshFn: (c: Connection, callback: (err?: Error | null, accessToken?: string, res?: any) => void) => {
            oauth2.refreshToken(creds.refreshToken!).then(
              (res) => {
                c.accessToken = res.access_token;
                if (res.instance_url) c.instanceUrl = res.instance_url;
                callback(null, res.access_token, res);
              },
              (err: unknown) => {
                refreshFailures.set(conn, err);
                callback(err instanceof Error ? err : new Error(String(err)));
              },
            );
          },
        }
      : {}),
  });
  conn.on('refresh', (accessToken: string, res: { instance_url?: string } | undefined) => {
    onRefresh({ accessToken, instanceUrl: res?.instance_url ?? conn.instanceUrl });
  });
  return conn;
}

/** Whether an OAuth error means the refresh token itself is no good (revoked, expired, wrong client). */
function grantRefused(e: unknown): boolean {
  const name = (e as { name?: string; error?: string } | null)?.name ?? '';
  return /invalid_grant|invalid_client|inactive_user|inactive_org/.test(name) || /expired access\/refresh token|invalid_grant/i.test(String((e as Error)?.message ?? ''));
}

/** A jsforce / Salesforce error → the engine's codes (Salesforce puts its reason in errorCode). */
export function classifySalesforceError(e: unknown, conn?: Connection): ConnectorError {
  if (e instanceof ConnectorError) return e;
  let err = e as { errorCode?: string; name?: string; message?: string; data?: unknown };
  if (/^ERROR_HTTP_/.test(String(err?.errorCode)) && String(err.message ?? '').startsWith('[')) {
    // A body read as text (Bulk results): Salesforce's JSON error list is in the message.
    try {
      const [first] = JSON.parse(String(err.message)) as { errorCode?: string; message?: string }[];
      if (first?.errorCode) err = { errorCode: first.errorCode, message: first.message ?? first.errorCode, data: first };
    } catch {
      // not JSON: keep the HTTP status code
    }
  }
  const code = String(err?.errorCode ?? err?.name ?? '');
  const message = String(err?.message ?? e);
  const providerResponse = err?.data !== undefined ? JSON.stringify(err.data).slice(0, 4000) : JSON.stringify({ errorCode: code, message }).slice(0, 4000);
  if (message.startsWith('Unable to refresh session')) {
    const cause = conn ? refreshFailures.get(conn) : undefined;
    if (cause === undefined || grantRefused(cause)) return new ConnectorError('auth_expired', 'Salesforce refused the refresh token: reconnect Salesforce', { status: 400, providerResponse });
    return new ConnectorError('temporary', `Salesforce session refresh failed: ${(cause as Error)?.message ?? String(cause)}`);
  }
  if (code === 'INVALID_SESSION_ID' || code === 'ERROR_HTTP_401') return new ConnectorError('auth_expired', `Salesforce rejected the session: ${message}`, { status: 401, providerResponse });
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    // The same code covers the concurrent long-request limit, which clears in seconds.
    if (/concurrent/i.test(message)) return new ConnectorError('rate_limited', message, { status: 403, retryAfterMs: 5000, providerResponse });
    return new ConnectorError('quota_exhausted', `Salesforce daily API request limit reached (${message})`, { status: 403, resumeAt: new Date(Date.now() + QUOTA_RECHECK_MS), providerResponse });
  }
  if (code === 'INVALID_QUERY_LOCATOR' || code === 'INVALIDLOCATOR') return new ConnectorError('cursor_invalid', message, { status: 400, providerResponse });
  if (code === 'NOT_FOUND' || code === 'ERROR_HTTP_404') return new ConnectorError('permanent', message, { status: 404, providerResponse });
  if (/^(SERVER_UNAVAILABLE|UNKNOWN_EXCEPTION|UNABLE_TO_LOCK_ROW|ERROR_HTTP_5\d\d|ERROR_HTTP_408)$/.test(code)) return new ConnectorError('temporary', message, { providerResponse });
  // Network failures (fetch's TypeError, socket errors) carry no Salesforce code.
  if (!err?.errorCode && (e instanceof TypeError || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket|fetch failed|network/i.test(message))) return new ConnectorError('temporary', `Salesforce could not be reached: ${message}`);
  return new ConnectorError('permanent', message, { status: 400, providerResponse });
}

/** One Salesforce call with a deadline, its errors classified. */
export async function call<T>(conn: Connection, label: string, fn: () => Promise<T>, deadlineMs = CALL_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectorError('temporary', `Salesforce did not answer ${label} within ${Math.round(deadlineMs / 1000)} s`)), deadlineMs);
  });
  try {
    return await Promise.race([fn(), deadline]);
  } catch (e) {
    throw classifySalesforceError(e, conn);
  } finally {
    clearTimeout(timer);
  }
}

/** The organization id in a token response's identity URL (…/id/00D…/005…). */
export function orgIdFromIdentityUrl(id: string | undefined): string | null {
  const parts = (id ?? '').split('/');
  return parts.length >= 2 ? (parts[parts.length - 2] ?? null) : null;
}
