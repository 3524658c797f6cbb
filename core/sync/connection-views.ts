// What the portal's connection screens and the CLI's `connections list` show: the
// workspace's connections, one connection's status with its runs (the integration log,
// 30 days) and its sync errors, and the admin's repairs (ignore, retry one record).
import { Types } from 'mongoose';
import { Connection } from '../models/connection.ts';
import { SyncError, SyncRun, SYNC_RUN_RETENTION_DAYS, type SyncKind } from '../models/sync.ts';
import { AppError } from '../errors.ts';
import { parseObjectId } from '../workspaces/workspaces.ts';
import { connectionStatus, getConnection } from './connections.ts';
import { ignoreSyncErrors, openSyncErrors, runSummary, syncErrorRows } from './runs.ts';
import { queueSync, syncRecord } from './engine.ts';
import { PROVIDER_LABELS } from './providers.ts';
import { openCrmAmbiguityCount } from './crm-ambiguous.ts';

export type ConnectionRow = {
  id: string;
  provider: string;
  label: string;
  role: string;
  mode: string | null;
  state: string;
  last_full_sync_at: string | null;
  last_incremental_at: string | null;
};

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/** Every connection of the workspace, disconnected ones last (their mapping is kept for a reconnect). */
export async function listConnections(workspaceId: string): Promise<ConnectionRow[]> {
  const conns = await Connection.find({ workspace_id: parseObjectId(workspaceId, 'workspace') }).sort({ createdAt: 1 }).lean();
  const order = (s: string) => (s === 'disconnected' ? 1 : 0);
  return conns
    .sort((a, b) => order(a.state) - order(b.state))
    .map((c) => ({
      id: String(c._id),
      provider: c.provider,
      label: `${PROVIDER_LABELS[c.provider] ?? c.provider}${c.role === 'billing_signal' ? ' (billing signal)' : ''}${c.mode === 'test' ? ' · test mode' : ''}`,
      role: c.role,
      mode: c.mode ?? null,
      state: c.state,
      last_full_sync_at: iso(c.last_full_sync_at),
      last_incremental_at: iso(c.last_incremental_at),
    }));
}

/** Status, warnings, the running run's progress and the connection's settings, for /connections/:id. */
export async function connectionOverview(connectionId: string) {
  const s = await connectionStatus(connectionId);
  const conn = await Connection.findById(s.connection_id).lean();
  const running = s.running
    ? { ...s.running, percent: s.running.progress?.total ? Math.min(100, Math.round((100 * (s.running.progress.done ?? 0)) / s.running.progress.total)) : null }
    : null;
  return {
    id: s.connection_id,
    provider: s.provider,
    label: PROVIDER_LABELS[s.provider] ?? s.provider,
    role: s.role,
    mode: conn?.mode ?? null,
    auth_type: conn?.auth_type ?? 'token',
    state: s.state,
    state_reason: s.state_reason,
    last_full_sync_at: iso(s.last_full_sync_at),
    last_incremental_at: iso(s.last_incremental_at),
    first_full_sync_at: iso(conn?.first_full_sync_at),
    warnings: s.warnings.filter((w) => !w.startsWith('Reauthorize')),
    ambiguous_open: conn ? await openCrmAmbiguityCount(conn) : 0,
    running,
    settings: {
      writeback: conn?.settings?.writeback !== false && conn?.role !== 'billing_signal',
      auto_sync: conn?.settings?.auto_sync !== false,
      match_personal_emails: conn?.settings?.match_personal_emails === true,
      filter: (conn?.settings?.filter ?? null) as Record<string, unknown> | null,
    },
  };
}

/** The newest run of the connection, as the progress bar and counts show it. */
export async function latestRun(connectionId: Types.ObjectId, kinds?: SyncKind[]) {
  const q: Record<string, unknown> = { connection_id: connectionId };
  if (kinds) q.kind = { $in: kinds };
  const run = await SyncRun.findOne(q).sort({ createdAt: -1 }).lean();
  if (!run) return null;
  const s = runSummary(run);
  const percent = s.status === 'succeeded' ? 100 : s.progress.total ? Math.min(100, Math.round((100 * s.progress.done) / s.progress.total)) : null;
  return { ...s, percent };
}

/**
 * The integration log: the connection's runs of the last 30 days, newest first. With
 * errorsOnly, only runs that failed or had failing records, each with its records' errors
 * and the provider's response.
 */
export async function integrationLog(connectionId: Types.ObjectId, opts: { errorsOnly?: boolean; limit?: number } = {}) {
  const since = new Date(Date.now() - SYNC_RUN_RETENTION_DAYS * 86_400_000);
  const q: Record<string, unknown> = { connection_id: connectionId, createdAt: { $gte: since } };
  if (opts.errorsOnly) {
    // A run "had errors" when it failed, counted some, or left SyncErrors behind (a skipped record's too).
    const withErrors = await SyncError.distinct('run_id', { connection_id: connectionId, run_id: { $ne: null }, updatedAt: { $gte: since } });
    q.$or = [{ status: 'failed' }, { 'counts.errors': { $gt: 0 } }, { _id: { $in: withErrors } }];
  }
  const runs = await SyncRun.find(q, { problems: 0, results: 0, checkpoint: 0 }).sort({ createdAt: -1 }).limit(opts.limit ?? 200).lean();
  const errors = opts.errorsOnly && runs.length
    ? await SyncError.find({ connection_id: connectionId, run_id: { $in: runs.map((r) => r._id) } }).sort({ updatedAt: -1 }).limit(500).lean()
    : [];
  return runs.map((r) => ({
    ...runSummary(r),
    problems: undefined,
    results: undefined,
    errors: syncErrorRows(errors.filter((e) => String(e.run_id) === String(r._id))),
  }));
}

export async function openErrorRows(connectionId: Types.ObjectId) {
  return syncErrorRows(await openSyncErrors(connectionId));
}

function errorObjectId(errorId: string): Types.ObjectId {
  if (!/^[0-9a-f]{24}$/i.test(errorId)) throw new AppError('bad_input', `error "${errorId}" is not a valid id (24 hex characters)`);
  return new Types.ObjectId(errorId);
}

/** Ignores one open error (by id) or all of them, until the record changes in the source. Returns how many. */
export async function ignoreErrors(connectionId: Types.ObjectId, target: { errorId: string } | { all: true }): Promise<number> {
  if ('errorId' in target) {
    const e = await SyncError.findOne({ _id: errorObjectId(target.errorId), connection_id: connectionId }).lean();
    if (!e) throw new AppError('not_found', `No sync error ${target.errorId} on this connection`);
    if (e.ignored || e.resolved_at) return 0;
    return ignoreSyncErrors(connectionId, { errorId: target.errorId });
  }
  return ignoreSyncErrors(connectionId);
}

/** Retry this record: re-reads the one source record behind an error and applies it now. */
export async function retryError(connectionId: Types.ObjectId, errorId: string) {
  const e = await SyncError.findOne({ _id: errorObjectId(errorId), connection_id: connectionId }).lean();
  if (!e) throw new AppError('not_found', `No sync error ${errorId} on this connection`);
  const kind = e.object_type === 'contact' || e.object_type === 'contacts' || e.object_type === 'Contact' ? 'contact' : 'customer';
  const summary = await syncRecord(String(connectionId), kind, e.record_id, 'retry');
  const after = await SyncError.findById(e._id).lean();
  return { summary, fixed: !!after?.resolved_at || !after, error: after ? syncErrorRows([after])[0]! : null };
}

/** A connection of this workspace (a connection id of another workspace is "not found", never shown). */
export async function connectionOfWorkspace(workspaceId: string, connectionId: string) {
  const conn = await getConnection(connectionId);
  if (String(conn.workspace_id) !== String(parseObjectId(workspaceId, 'workspace'))) throw new AppError('not_found', 'No such connection in your workspace');
  return conn;
}

const QUEUED: Record<string, string> = {
  validate: 'Validation queued: it reads the source without writing anything.',
  preview: 'Preview queued: the first 10 records are synced.',
  full: 'Full sync queued: the progress bar below follows it.',
  incremental: 'Sync queued: changes since the last update are being fetched.',
};

/** Validate, Preview, Full sync and Run sync now, from the portal. */
export async function queueConnectionRun(workspaceId: string, connectionId: string, kind: 'validate' | 'preview' | 'full' | 'incremental') {
  const conn = await connectionOfWorkspace(workspaceId, connectionId);
  if (conn.state !== 'connected') throw new AppError('conflict', `This connection is ${conn.state}: reconnect it first`);
  await queueSync(String(conn._id), kind, 'portal');
  return QUEUED[kind]!;
}
