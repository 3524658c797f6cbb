// Connecting with a token from the portal (the way in when a provider's OAuth app is not
// configured) and reconnecting a disconnected or revoked connection. The token is tried
// against the provider with one real read before anything is saved, so a typo or a
// missing scope is refused here, with the provider's reason, rather than in the first sync.
import { z } from 'zod';
import { Connection } from '../models/connection.ts';
import { Workspace } from '../models/workspace.ts';
import { getConnector } from '../connectors/registry.ts';
import { ConnectorError, type Credentials } from '../connectors/connector.ts';
import { AppError, isDuplicateKeyError, redactSecrets } from '../errors.ts';
import { childLog } from '../log.ts';
import { encryptJson } from '../crypto.ts';
import { connectOption, PROVIDER_LABELS, type ConnectOption } from './providers.ts';
import { connectSource, CustomerSourceClaim, getConnection, scheduleConnectionJobs } from './connections.ts';
import { queueSync } from './engine.ts';
import { verifyHubspotToken } from '../connectors/hubspot/account.ts';
import { connectionOfWorkspace } from './connection-views.ts';

const STRIPE_KEY = /^(sk|rk)_(live|test)_[A-Za-z0-9_]+$/;

const tokenInput = z.object({
  token: z.string().trim().min(8, 'Paste the token (it is longer than that)').max(4000, 'That is too long to be a token').regex(/^\S+$/, 'A token has no spaces in it'),
  instanceUrl: z.string().trim().url('The instance URL looks like https://yourorg.my.salesforce.com').optional(),
});

/** The Stripe mode a key belongs to, or a clear refusal. */
function stripeKeyMode(token: string): 'live' | 'test' {
  const m = STRIPE_KEY.exec(token);
  if (!m) throw new AppError('bad_input', 'A Stripe key starts with rk_live_, rk_test_, sk_live_ or sk_test_');
  return m[2] as 'live' | 'test';
}

/** One real read with the token (the first page of customers); the provider's refusal becomes the message. */
export async function verifyToken(option: Pick<ConnectOption, 'provider' | 'role'>, credentials: Credentials, workspaceId: string): Promise<void> {
  const connector = getConnector(option.provider);
  const label = PROVIDER_LABELS[option.provider] ?? option.provider;
  const ctx = {
    connectionId: 'token-check',
    workspaceId,
    settings: {},
    credentials: () => credentials,
    saveCredentials: async () => {},
    log: childLog({ provider: option.provider, step: 'token-check' }),
  };
  try {
    await connector.pull(ctx, { kind: 'customer', cursor: null, pageSize: 1 });
  } catch (e) {
    if (e instanceof ConnectorError && e.code === 'auth_expired') throw new AppError('bad_input', redactSecrets(`${label} did not accept this token: ${e.message}`));
    if (e instanceof ConnectorError && e.status && e.status < 500 && e.status !== 429) throw new AppError('bad_input', redactSecrets(`${label} refused the check with this token: ${e.message}`));
    throw new AppError('unavailable', redactSecrets(`${label} could not be reached to check the token (${e instanceof Error ? e.message : String(e)}); nothing was saved, try again`));
  }
}

function credentialsFrom(option: ConnectOption, input: { token: string; instanceUrl?: string }): Credentials {
  const parsed = tokenInput.safeParse(input);
  if (!parsed.success) throw new AppError('bad_input', parsed.error.issues[0]!.message);
  if (option.needsInstanceUrl && !parsed.data.instanceUrl) throw new AppError('bad_input', 'Enter the instance URL of your org as well');
  return { accessToken: parsed.data.token, ...(parsed.data.instanceUrl ? { instanceUrl: parsed.data.instanceUrl } : {}) };
}

/** Connects a provider for the workspace with a token, after checking it; returns the new connection. */
export async function connectWithToken(input: { workspaceId: string; optionKey: string; token: string; instanceUrl?: string }) {
  const option = connectOption(input.optionKey);
  if (!option) throw new AppError('not_found', `Unknown way to connect: "${input.optionKey}"`);
  const credentials = credentialsFrom(option, input);
  const mode = option.provider === 'stripe' ? stripeKeyMode(credentials.accessToken) : null;
  // HubSpot's account-info API also names the token's portal, which routes its webhooks here.
  const portalId = option.provider === 'hubspot' ? (await verifyHubspotToken(credentials.accessToken)).portalId : null;
  await verifyToken(option, credentials, input.workspaceId);
  return connectSource({
    externalAccountId: portalId,
    workspaceId: input.workspaceId,
    provider: option.provider,
    role: option.role,
    authType: 'token',
    credentials,
    mode,
    settings: mode ? { mode } : {},
  });
}

/**
 * Reconnects a disconnected or revoked connection with a new token: same connection, so
 * its field mapping, settings and links are kept and the sync resumes where it stopped.
 */
export async function reconnectWithToken(input: { workspaceId: string; connectionId: string; token: string; instanceUrl?: string }) {
  const conn = await connectionOfWorkspace(input.workspaceId, input.connectionId);
  if (conn.state === 'connected') throw new AppError('conflict', 'This connection is already connected');
  const option = { provider: conn.provider as ConnectOption['provider'], role: conn.role as ConnectOption['role'], needsInstanceUrl: conn.provider === 'salesforce' } as ConnectOption;
  const credentials = credentialsFrom(option, input);
  if (conn.provider === 'stripe' && conn.mode && stripeKeyMode(credentials.accessToken) !== conn.mode) {
    throw new AppError('bad_input', `This is a ${conn.mode}-mode connection: use a ${conn.mode}-mode key`);
  }
  await verifyToken(option, credentials, input.workspaceId);
  if (conn.role === 'customer_source' && conn.state === 'disconnected') {
    try {
      await CustomerSourceClaim.create({ _id: String(conn.workspace_id), connection_id: conn._id, provider: conn.provider });
    } catch (e) {
      if (!isDuplicateKeyError(e)) throw e;
      const claim = await CustomerSourceClaim.findById(String(conn.workspace_id)).lean();
      if (String(claim?.connection_id) !== String(conn._id)) {
        throw new AppError('conflict', `This workspace already has another customer source (${claim?.provider ?? 'another connection'}): disconnect it first`);
      }
    }
    await Workspace.updateOne({ _id: conn.workspace_id }, { $set: { customer_source_connection_id: conn._id } });
  }
  const wasRevoked = conn.state === 'reauthorize';
  await Connection.updateOne({ _id: conn._id }, { $set: { credentials: encryptJson(credentials), auth_type: 'token', state: 'connected', state_reason: null } });
  const ws = await Workspace.findById(conn.workspace_id, { timezone: 1 }).lean();
  await scheduleConnectionJobs(conn, ws?.timezone ?? 'UTC');
  // A revoked connection picks up what it missed; a reconnected one waits for the admin's next run.
  if (wasRevoked) await queueSync(String(conn._id), 'incremental', 'reauthorize');
  return getConnection(conn._id);
}
