// Connecting and disconnecting sources, and what the portal/CLI show about them.
// One customer source per workspace is a database guarantee: the claim is an insert into
// a collection keyed by workspace id (a unique key: the simplest atomic rule), so two
// admins connecting at once cannot both win. Stripe as a billing signal is the exception.
import { Schema, Types } from 'mongoose';
import { z } from 'zod';
import { defineModel } from '../models/define.ts';
import { Connection, CONNECTION_ROLES, PROVIDERS, type Provider } from '../models/connection.ts';
import { Workspace } from '../models/workspace.ts';
import { deadLetters } from '../inbound/pipeline.ts';
import { disconnected, reauthorized } from './connection-state.ts';
import { SyncRun } from '../models/sync.ts';
import { encryptJson, decryptJson } from '../crypto.ts';
import { AppError, isDuplicateKeyError } from '../errors.ts';
import { childLog } from '../log.ts';
import { cancelJobs, enqueue, scheduleRepeating } from '../jobs/agenda.ts';
import { PendingWriteback } from '../models/writeback.ts';
import { parseObjectId } from '../workspaces/workspaces.ts';
import type { ConnectorContext, Credentials } from '../connectors/connector.ts';
import { getConnector, hasConnector } from '../connectors/registry.ts';

const claimSchema = new Schema(
  {
    _id: { type: String, required: true }, // workspace id
    connection_id: { type: Schema.Types.ObjectId, required: true },
    provider: { type: String, required: true },
  },
  { timestamps: true },
);
/** The active customer source of each workspace (one document per workspace). */
export const CustomerSourceClaim = defineModel('CustomerSourceClaim', claimSchema, 'customer_source_claims');

export const SCHEDULED_SYNC_JOB = 'sync.scheduled';
export const INCREMENTAL_WARN_MS = 30 * 60_000;
export const FULL_WARN_MS = 24 * 3_600_000;

const connectInput = z.object({
  workspaceId: z.string(),
  provider: z.enum(PROVIDERS),
  role: z.enum(CONNECTION_ROLES).default('customer_source'),
  authType: z.enum(['oauth', 'token']),
  credentials: z.object({ accessToken: z.string().min(1, 'a token is required') }).passthrough(),
  settings: z.record(z.string(), z.unknown()).default({}),
  mode: z.enum(['live', 'test']).nullable().optional(),
  externalAccountId: z.string().nullable().optional(),
  webhookSecret: z.string().nullable().optional(),
});
export type ConnectInput = z.input<typeof connectInput>;

export type ConnectionDoc = NonNullable<Awaited<ReturnType<typeof getConnection>>>;

export async function getConnection(id: string | Types.ObjectId) {
  const _id = typeof id === 'string' ? parseObjectId(id, 'connection') : id;
  const c = await Connection.findById(_id);
  if (!c) throw new AppError('not_found', `No connection with id ${String(_id)}`);
  return c;
}

function defaultSettings(provider: Provider, role: string): Record<string, unknown> {
  return {
    auto_sync: true,
    // Writeback is on by default for CRMs, off for Stripe-as-source, impossible for billing signals.
    writeback: provider !== 'stripe',
    // Stripe as the source (PLG): every Stripe customer is a customer, however many share a
    // domain (gmail.com, two teams of one company), so its identity is the Stripe customer id.
    match_key: provider === 'stripe' && role === 'customer_source' ? 'external_id' : 'domain',
    ...(role === 'billing_signal' ? { writeback: false } : {}),
  };
}

export async function connectSource(input: ConnectInput) {
  const parsed = connectInput.safeParse(input);
  if (!parsed.success) throw new AppError('bad_input', parsed.error.issues[0]!.message);
  const data = parsed.data;
  const ws = await Workspace.findById(parseObjectId(data.workspaceId, 'workspace'));
  if (!ws) throw new AppError('not_found', `No workspace with id ${data.workspaceId}`);
  if (data.role === 'billing_signal' && data.provider !== 'stripe') throw new AppError('bad_input', 'Only Stripe can be connected as a billing signal');

  const connectionId = new Types.ObjectId();
  if (data.role === 'customer_source') {
    try {
      await CustomerSourceClaim.create({ _id: String(ws._id), connection_id: connectionId, provider: data.provider });
    } catch (e) {
      if (!isDuplicateKeyError(e)) throw e;
      const claim = await CustomerSourceClaim.findById(String(ws._id)).lean();
      throw new AppError(
        'conflict',
        `This workspace already has a customer source (${claim?.provider ?? 'another connection'}, connection ${String(claim?.connection_id ?? '?')}). ` +
          'A second customer source would create duplicate customers; disconnect the current one first, or connect Stripe as "billing signal only".',
      );
    }
  }
  const settings = { ...defaultSettings(data.provider, data.role), ...data.settings };
  const { accessToken, ...rest } = data.credentials as Credentials;
  const credentials: Credentials = { ...rest, accessToken };
  // Reconnecting after a disconnect starts from the field mapping the admin left there.
  const previous = await Connection.findOne(
    { workspace_id: ws._id, provider: data.provider, role: data.role, state: 'disconnected', field_mapping: { $ne: null } },
    { field_mapping: 1 },
  ).sort({ updatedAt: -1 }).lean();
  try {
    const conn = await Connection.create({
      _id: connectionId,
      workspace_id: ws._id,
      provider: data.provider,
      role: data.role,
      mode: data.mode ?? null,
      auth_type: data.authType,
      credentials: encryptJson(credentials),
      webhook_secret: data.webhookSecret ? encryptJson(data.webhookSecret) : null,
      external_account_id: data.externalAccountId ?? (credentials.accountId ? String(credentials.accountId) : null),
      settings,
      field_mapping: previous?.field_mapping ?? null,
    });
    if (data.role === 'customer_source') await Workspace.updateOne({ _id: ws._id }, { $set: { customer_source_connection_id: conn._id } });
    await scheduleConnectionJobs(conn, ws.timezone);
    return conn;
  } catch (e) {
    if (data.role === 'customer_source') await CustomerSourceClaim.deleteOne({ _id: String(ws._id), connection_id: connectionId });
    throw e;
  }
}

/** The nightly reconcile at 03:00 workspace time, the hourly auto-sync (when on), and the poll of sources without webhooks. */
export async function scheduleConnectionJobs(conn: { _id: Types.ObjectId; settings?: any; provider?: string }, timezone: string): Promise<void> {
  const id = String(conn._id);
  // Sources without webhooks (Salesforce) are polled; that is their freshness, not the optional auto-sync.
  const pollMinutes = conn.provider && hasConnector(conn.provider) ? getConnector(conn.provider).capabilities.pollEveryMinutes : undefined;
  if (pollMinutes) {
    await scheduleRepeating(SCHEDULED_SYNC_JOB, `${pollMinutes} minutes`, { connection_id: id, kind: 'incremental', schedule: 'poll' }, { unique: { name: SCHEDULED_SYNC_JOB, 'data.connection_id': id, 'data.schedule': 'poll' } });
  }
  await scheduleRepeating(SCHEDULED_SYNC_JOB, '0 3 * * *', { connection_id: id, kind: 'reconcile', schedule: 'nightly' }, { timezone, unique: { name: SCHEDULED_SYNC_JOB, 'data.connection_id': id, 'data.schedule': 'nightly' } });
  if (conn.settings?.auto_sync === false) {
    await cancelJobs({ name: SCHEDULED_SYNC_JOB, 'data.connection_id': id, 'data.schedule': 'hourly' });
  } else {
    await scheduleRepeating(SCHEDULED_SYNC_JOB, '1 hour', { connection_id: id, kind: 'incremental', schedule: 'hourly' }, { unique: { name: SCHEDULED_SYNC_JOB, 'data.connection_id': id, 'data.schedule': 'hourly' } });
  }
}

/** Settings changes; the match key is locked once the first full sync has run. */
export async function updateConnectionSettings(connectionId: string, patch: Record<string, unknown>) {
  const conn = await getConnection(connectionId);
  if ('match_key' in patch && patch.match_key !== conn.settings?.match_key && conn.first_full_sync_at) {
    throw new AppError('conflict', 'The match key cannot be changed after the first full sync (it would re-link every customer)');
  }
  if ('field_mapping' in patch && conn.first_full_sync_at) {
    // No saved mapping means the connector's default one is in force.
    const before = (conn.field_mapping as any[] | null)?.length ? (conn.field_mapping as any[]) : getConnector(conn.provider).defaultMapping();
    const nameBefore = before.find((m) => m.target === 'name')?.source;
    const nameAfter = (patch.field_mapping as any[] | null)?.find((m) => m.target === 'name')?.source;
    if (nameBefore !== nameAfter) throw new AppError('conflict', 'The display name source can only be changed before the first sync');
  }
  const { field_mapping, ...settings } = patch;
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) set[`settings.${k}`] = v;
  if (field_mapping !== undefined) set.field_mapping = field_mapping;
  await Connection.updateOne({ _id: conn._id }, { $set: set });
  const updated = await getConnection(connectionId);
  const ws = await Workspace.findById(updated.workspace_id).lean();
  await scheduleConnectionJobs(updated, ws?.timezone ?? 'UTC');
  return updated;
}

/**
 * Disconnects: erases the credentials (and webhook secret), stops schedules and frees the
 * workspace's customer-source slot; the field mapping and settings are kept, and a later
 * connection of the same provider starts from that mapping.
 */
export async function disconnect(connectionId: string) {
  const conn = await getConnection(connectionId);
  await disconnected(conn._id);
  await cancelJobs({ 'data.connection_id': String(conn._id) });
  await SyncRun.updateMany({ connection_id: conn._id, status: { $in: ['running', 'paused', 'queued'] } }, { $set: { status: 'canceled', finished_at: new Date(), message: 'Connection disconnected' } });
  if (conn.role === 'customer_source') {
    await CustomerSourceClaim.deleteOne({ _id: String(conn.workspace_id), connection_id: conn._id });
    await Workspace.updateOne({ _id: conn.workspace_id, customer_source_connection_id: conn._id }, { $set: { customer_source_connection_id: null } });
  }
  return getConnection(connectionId);
}

export { needsReauthorization as markReauthorize } from './connection-state.ts';

/** Re-authorisation with fresh credentials; sync resumes from where it stopped. */
export async function reauthorize(connectionId: string, credentials: Credentials) {
  const id = parseObjectId(connectionId, 'connection');
  await reauthorized(id, encryptJson(credentials));
  // Writebacks that waited for new credentials go out now (the drain job of ./writeback-queue.ts; a second drain only finds nothing).
  if (await PendingWriteback.exists({ connection_id: id })) await enqueue('sync.writeback_drain', { connection_id: connectionId });
  return getConnection(connectionId);
}

export function connectorContext(conn: ConnectionDoc): ConnectorContext {
  if (!conn.credentials) throw new AppError('conflict', `This ${conn.provider} connection is disconnected (its credentials were erased): connect again`);
  let creds = decryptJson<Credentials>(conn.credentials);
  return {
    connectionId: String(conn._id),
    workspaceId: String(conn.workspace_id),
    settings: { ...(conn.settings ?? {}), field_mapping: conn.field_mapping ?? undefined },
    credentials: () => creds,
    saveCredentials: async (next) => {
      creds = next;
      await Connection.updateOne({ _id: conn._id }, { $set: { credentials: encryptJson(next) } });
    },
    log: childLog({ connection_id: String(conn._id), provider: conn.provider }),
  };
}

/**
 * Staleness as an admin should read it: a connection that never finished a full sync says
 * so (not "older than 24 hours"), and a full sync counts as an update, so a connection
 * fresh from one does not warn about incremental updates.
 */
export function freshnessWarnings(conn: { last_full_sync_at?: Date | null; last_incremental_at?: Date | null }, runningKind: string | null, now = Date.now()): string[] {
  const full = conn.last_full_sync_at?.getTime() ?? null;
  if (full === null) {
    return [runningKind === 'full' ? 'The first full sync is running; customers appear as it goes' : 'No full sync has run yet: run one to bring in the customers'];
  }
  const warnings: string[] = [];
  if (now - full > FULL_WARN_MS) warnings.push('The last full sync is older than 24 hours');
  const latest = Math.max(full, conn.last_incremental_at?.getTime() ?? 0);
  if (now - latest > INCREMENTAL_WARN_MS) warnings.push('The last incremental update is older than 30 minutes');
  return warnings;
}

export async function connectionStatus(connectionId: string) {
  const conn = await getConnection(connectionId);
  const running = await SyncRun.findOne({ connection_id: conn._id, status: { $in: ['running', 'paused'] } }).sort({ createdAt: -1 }).lean();
  const last = await SyncRun.findOne({ connection_id: conn._id }).sort({ createdAt: -1 }).lean();
  const now = Date.now();
  const warnings: string[] = [];
  if (conn.state === 'reauthorize') warnings.push(`Reauthorize ${conn.provider}: ${conn.state_reason ?? 'the credentials stopped working'}`);
  const pausedUntil = conn.paused_until && conn.paused_until.getTime() > now ? conn.paused_until : null;
  if (pausedUntil) warnings.push(`Paused: the ${conn.provider} API request quota is used up; syncing resumes at ${pausedUntil.toISOString()}`);
  if (conn.state === 'connected' && conn.role === 'customer_source') warnings.push(...freshnessWarnings(conn, running?.kind ?? null, now));
  return {
    connection_id: String(conn._id),
    workspace_id: String(conn.workspace_id),
    provider: conn.provider,
    role: conn.role,
    state: conn.state,
    state_reason: conn.state_reason ?? null,
    last_full_sync_at: conn.last_full_sync_at ?? null,
    last_incremental_at: conn.last_incremental_at ?? null,
    paused_until: pausedUntil,
    running: running
      ? { run_id: String(running._id), kind: running.kind, status: running.status, progress: running.progress, counts: running.counts, started_at: running.started_at }
      : null,
    last_run: last ? { run_id: String(last._id), kind: last.kind, status: last.status, finished_at: last.finished_at, message: last.message } : null,
    warnings,
    // webhook events whose processing gave up, with their error (core/inbound/pipeline.ts)
    dead_letters: await deadLetters(conn._id),
  };
}
