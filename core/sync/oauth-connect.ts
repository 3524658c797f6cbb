// Connecting a provider by OAuth from the portal: /connect/:provider records a one-use
// grant (workspace, admin, provider, role, mode) under a random nonce, which becomes the
// OAuth state and is also set in a short-lived httpOnly cookie of the admin's browser.
// The callback only completes for that same admin, in that same browser, once: the grant
// is deleted atomically on use. It then exchanges the code through the connector (whose
// base URLs come from the environment) and creates the connection — or, for a connection
// that needs re-authorization, swaps in the new tokens so its sync resumes.
import { z } from 'zod';
import { Connection, PROVIDERS, type Provider } from '../models/connection.ts';
import { getConnector } from '../connectors/registry.ts';
import { ConnectorError } from '../connectors/connector.ts';
import { env } from '../env.ts';
import { AppError, redactSecrets } from '../errors.ts';
import { randomToken, safeEqual, sha256 } from '../crypto.ts';
import { AuthGrant } from '../models/auth.ts';
import type { SignedInMember } from '../auth/login.ts';
import { connectSource, reauthorize } from './connections.ts';
import { queueSync } from './engine.ts';
import { parseObjectId } from '../workspaces/workspaces.ts';

export const OAUTH_STATE_TTL_MS = 10 * 60_000;

const connectRequest = z.object({
  workspaceId: z.string(),
  provider: z.enum(PROVIDERS, { message: `provider must be one of ${PROVIDERS.join(', ')}` }),
  role: z.enum(['customer_source', 'billing_signal']).default('customer_source'),
  mode: z.enum(['live', 'test']).optional(),
});
export type ConnectRequest = z.input<typeof connectRequest>;

const grantData = z.object({ provider: z.enum(PROVIDERS), role: z.enum(['customer_source', 'billing_signal']), mode: z.enum(['live', 'test']).nullable() });

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

/**
 * The provider's consent URL for this admin's workspace, and the nonce the portal puts in
 * the admin's browser (a cookie); the callback needs both, once, within 10 minutes.
 */
export async function startOAuthConnect(input: ConnectRequest & { email: string }): Promise<{ url: string; nonce: string }> {
  const req = connectRequest.safeParse(input);
  if (!req.success) throw new AppError('bad_input', req.error.issues[0]!.message);
  const { workspaceId, provider, role, mode } = req.data;
  const wsId = parseObjectId(workspaceId, 'workspace');
  if (role === 'billing_signal' && provider !== 'stripe') throw new AppError('bad_input', 'Only Stripe can be connected as a billing signal');
  const connector = connectorWithOAuth(provider);
  const nonce = randomToken(32);
  await AuthGrant.create({
    nonce_hash: sha256(nonce), kind: 'oauth_connect', workspace_id: wsId, email: input.email,
    data: { provider, role, mode: mode ?? null }, expires_at: new Date(Date.now() + OAUTH_STATE_TTL_MS),
  });
  const url = connector.oauth!.authorizeUrl({ state: nonce, redirectUri: oauthRedirectUri(provider), mode, readOnly: role === 'billing_signal' });
  return { url, nonce };
}

const INVALID = 'This connect request is not valid: start again from the portal';

/**
 * Uses the grant named by the state: it must be the nonce this browser was given, unused,
 * unexpired, and started by the admin now signed in. Deleting it is the use, so a replayed
 * or concurrent callback finds nothing.
 */
async function claimState(provider: Provider, state: string | undefined, browserNonce: string | undefined, member: SignedInMember) {
  if (!state || !/^[A-Za-z0-9_-]{20,100}$/.test(state)) throw new AppError('unauthorized', INVALID);
  if (!browserNonce || !safeEqual(state, browserNonce)) {
    throw new AppError('unauthorized', 'This connect request was started in another browser or by someone else: start again from the portal');
  }
  const grant = await AuthGrant.findOneAndDelete({ nonce_hash: sha256(state), kind: 'oauth_connect', expires_at: { $gt: new Date() } }).lean();
  if (!grant) throw new AppError('unauthorized', 'This connect request expired or was already used: start again from the portal');
  if (String(grant.workspace_id) !== member.workspaceId || grant.email !== member.email) {
    throw new AppError('unauthorized', 'This connect request was started by someone else: start again from the portal');
  }
  const data = grantData.safeParse(grant.data);
  if (!data.success) throw new AppError('unauthorized', INVALID);
  if (data.data.provider !== provider) throw new AppError('unauthorized', 'This connect request was for another provider');
  return { w: member.workspaceId, p: data.data.provider, r: data.data.role, m: data.data.mode };
}

/** Completes the OAuth dance; returns the connection and whether it was a re-authorization. */
export async function finishOAuthConnect(input: { provider: string; code?: string; state?: string; error?: string; errorDescription?: string; browserNonce?: string; member: SignedInMember }) {
  const provider = z.enum(PROVIDERS).safeParse(input.provider);
  if (!provider.success) throw new AppError('not_found', `Unknown provider "${input.provider}"`);
  if (input.member.role !== 'owner' && input.member.role !== 'admin') throw new AppError('forbidden', 'Only a workspace owner or admin can connect a provider');
  const st = await claimState(provider.data, input.state, input.browserNonce, input.member);
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
