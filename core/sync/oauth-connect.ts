// Connecting a provider by OAuth from the portal: /connect/:provider builds the consent
// URL with a signed, expiring state (workspace, provider, role, mode), and the callback
// verifies it, exchanges the code through the connector (whose base URLs come from the
// environment) and creates the connection — or, for a connection that needs
// re-authorization, swaps in the new tokens so its sync resumes.
import crypto from 'node:crypto';
import { z } from 'zod';
import { Connection, PROVIDERS, type Provider } from '../models/connection.ts';
import { getConnector } from '../connectors/registry.ts';
import { ConnectorError } from '../connectors/connector.ts';
import { env } from '../env.ts';
import { AppError, redactSecrets } from '../errors.ts';
import { safeEqual } from '../crypto.ts';
import { connectSource, reauthorize } from './connections.ts';
import { queueSync } from './engine.ts';
import { parseObjectId } from '../workspaces/workspaces.ts';
import '../connectors/hubspot/index.ts';
import '../connectors/salesforce/index.ts';
import '../connectors/stripe/index.ts';

const STATE_TTL_MS = 15 * 60_000;

const connectRequest = z.object({
  workspaceId: z.string(),
  provider: z.enum(PROVIDERS, { message: `provider must be one of ${PROVIDERS.join(', ')}` }),
  role: z.enum(['customer_source', 'billing_signal']).default('customer_source'),
  mode: z.enum(['live', 'test']).optional(),
});
export type ConnectRequest = z.input<typeof connectRequest>;

const stateSchema = z.object({ w: z.string(), p: z.enum(PROVIDERS), r: z.enum(['customer_source', 'billing_signal']), m: z.enum(['live', 'test']).nullable(), n: z.string(), e: z.number() });

function hmac(payload: string): string {
  return crypto.createHmac('sha256', env().SESSION_SECRET).update(`oauth-connect:${payload}`).digest('base64url');
}

export function oauthRedirectUri(provider: Provider): string {
  return new URL(`/connect/${provider}/callback`, env().APP_URL).toString();
}

function connectorWithOAuth(provider: Provider) {
  let connector;
  try {
    connector = getConnector(provider);
  } catch {
    connector = undefined;
  }
  if (!connector?.oauth) throw new AppError('bad_input', `${provider[0]!.toUpperCase()}${provider.slice(1)} cannot be connected by OAuth in this version of Pivotal`);
  const e = env();
  const configured = provider === 'hubspot' ? e.HUBSPOT_CLIENT_ID && e.HUBSPOT_CLIENT_SECRET : provider === 'stripe' ? e.STRIPE_CLIENT_ID && e.STRIPE_SECRET_KEY : e.SALESFORCE_CLIENT_ID && e.SALESFORCE_CLIENT_SECRET;
  if (!configured) throw new AppError('config', `${provider} OAuth is not configured on this Pivotal instance (set its client id and secret), or connect with a token from the CLI`);
  return connector;
}

/** The provider's consent URL for this workspace. */
export function startOAuthConnect(input: ConnectRequest): string {
  const req = connectRequest.safeParse(input);
  if (!req.success) throw new AppError('bad_input', req.error.issues[0]!.message);
  const { workspaceId, provider, role, mode } = req.data;
  parseObjectId(workspaceId, 'workspace');
  if (role === 'billing_signal' && provider !== 'stripe') throw new AppError('bad_input', 'Only Stripe can be connected as a billing signal');
  const connector = connectorWithOAuth(provider);
  const payload = Buffer.from(JSON.stringify({ w: workspaceId, p: provider, r: role, m: mode ?? null, n: crypto.randomBytes(8).toString('hex'), e: Date.now() + STATE_TTL_MS })).toString('base64url');
  const state = `${payload}.${hmac(payload)}`;
  return connector.oauth!.authorizeUrl({ state, redirectUri: oauthRedirectUri(provider), mode, readOnly: role === 'billing_signal' });
}

function readState(provider: Provider, state: string | undefined) {
  const [payload, sig] = (state ?? '').split('.');
  if (!payload || !sig || !safeEqual(hmac(payload), sig)) throw new AppError('unauthorized', 'This connect request is not valid: start again from the portal');
  let parsed;
  try {
    parsed = stateSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    throw new AppError('unauthorized', 'This connect request is not valid: start again from the portal');
  }
  if (parsed.p !== provider) throw new AppError('unauthorized', 'This connect request was for another provider');
  if (parsed.e < Date.now()) throw new AppError('unauthorized', 'This connect request expired: start again from the portal');
  return parsed;
}

/** Completes the OAuth dance; returns the connection and whether it was a re-authorization. */
export async function finishOAuthConnect(input: { provider: string; code?: string; state?: string; error?: string; errorDescription?: string }) {
  const provider = z.enum(PROVIDERS).safeParse(input.provider);
  if (!provider.success) throw new AppError('not_found', `Unknown provider "${input.provider}"`);
  const st = readState(provider.data, input.state);
  // Users who press "Cancel" on the consent screen come back with ?error=…
  if (input.error) throw new AppError('bad_input', `${provider.data} did not authorize Pivotal: ${input.errorDescription ?? input.error}`);
  if (!input.code) throw new AppError('bad_input', 'The provider did not send an authorization code');
  const connector = connectorWithOAuth(provider.data);
  let credentials;
  try {
    credentials = await connector.oauth!.exchangeCode({ code: input.code, redirectUri: oauthRedirectUri(provider.data) });
  } catch (e) {
    if (e instanceof ConnectorError) throw new AppError('bad_input', redactSecrets(`${provider.data} refused the authorization code: ${e.message}`));
    throw e;
  }
  const mode = st.m ?? (provider.data === 'stripe' ? (credentials.livemode === false ? 'test' : 'live') : null);
  const existing = await Connection.findOne({ workspace_id: parseObjectId(st.w, 'workspace'), provider: provider.data, role: st.r, ...(mode ? { mode } : {}), state: { $ne: 'disconnected' } }).lean();
  if (existing) {
    if (existing.external_account_id && credentials.accountId && existing.external_account_id !== String(credentials.accountId)) {
      throw new AppError('conflict', `This workspace is connected to another ${provider.data} account (${existing.external_account_id}); disconnect it before connecting a different one`);
    }
    await reauthorize(String(existing._id), credentials);
    await queueSync(String(existing._id), 'incremental', 'reauthorize');
    return { connectionId: String(existing._id), workspaceId: st.w, provider: provider.data, reconnected: true };
  }
  const conn = await connectSource({
    workspaceId: st.w,
    provider: provider.data,
    role: st.r,
    authType: 'oauth',
    credentials,
    mode,
    externalAccountId: credentials.accountId ? String(credentials.accountId) : null,
  });
  return { connectionId: String(conn._id), workspaceId: st.w, provider: provider.data, reconnected: false };
}
