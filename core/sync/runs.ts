// Run bookkeeping shared by every sync runner (the HubSpot/Salesforce engine and the
// Stripe billing runner): SyncRun lifecycle, counts, progress and checkpoints, and
// SyncErrors with ignore-until-modified, retry and CSV export.
import { Types } from 'mongoose';
import { toCsv } from '../csv.ts';
import { SyncRun, SyncError, type SyncKind } from '../models/sync.ts';
import { AppError, isDuplicateKeyError, redactSecrets } from '../errors.ts';
import { ConnectorError } from '../connectors/connector.ts';

export const COUNT_KEYS = ['created', 'updated', 'unchanged', 'matched', 'unmatched', 'skipped', 'ambiguous', 'archived', 'errors'] as const;
export type CountKey = (typeof COUNT_KEYS)[number];
export type Counts = Record<CountKey, number>;

export const emptyCounts = (): Counts => Object.fromEntries(COUNT_KEYS.map((k) => [k, 0])) as Counts;

export interface ConnectionRef {
  _id: Types.ObjectId;
  workspace_id: Types.ObjectId;
}

export type SyncRunDoc = Awaited<ReturnType<typeof createRun>>;

export async function createRun(connection: ConnectionRef, kind: SyncKind, trigger: string) {
  return SyncRun.create({ workspace_id: connection.workspace_id, connection_id: connection._id, kind, trigger, status: 'running', started_at: new Date() });
}

/** The unfinished run of this kind, to resume from its checkpoint. */
export async function findOpenRun(connectionId: Types.ObjectId, kind: SyncKind) {
  return SyncRun.findOne({ connection_id: connectionId, kind, status: { $in: ['running', 'paused'] } }).sort({ createdAt: -1 });
}

/** Saves counts, progress and the checkpoint in one write: a replayed page never double-counts what the checkpoint covers. */
export async function saveProgress(runId: Types.ObjectId, p: { counts: Counts; checkpoint?: unknown; done?: number; total?: number | null; phase?: string | null }) {
  const set: Record<string, unknown> = { counts: p.counts };
  if (p.checkpoint !== undefined) set.checkpoint = p.checkpoint;
  if (p.done !== undefined) set['progress.done'] = p.done;
  if (p.total !== undefined) set['progress.total'] = p.total;
  if (p.phase !== undefined) set['progress.phase'] = p.phase;
  await SyncRun.updateOne({ _id: runId }, { $set: set });
}

export function bumpCounts(into: Counts, add: Partial<Counts>): Counts {
  for (const k of COUNT_KEYS) into[k] += add[k] ?? 0;
  return into;
}

export async function finishRun(runId: Types.ObjectId, status: 'succeeded' | 'failed' | 'paused' | 'canceled', extra: { counts?: Counts; message?: string | null; problems?: unknown[]; results?: unknown[] } = {}) {
  const set: Record<string, unknown> = { status, message: extra.message ?? null };
  if (status !== 'paused') set.finished_at = new Date();
  if (extra.counts) set.counts = extra.counts;
  if (extra.problems) set.problems = extra.problems;
  if (extra.results) set.results = extra.results;
  await SyncRun.updateOne({ _id: runId }, { $set: set });
  return SyncRun.findById(runId).lean();
}

export interface RunSummary {
  id: string;
  connection_id: string;
  kind: string;
  trigger: string;
  status: string;
  started_at: Date | null;
  finished_at: Date | null;
  counts: Counts;
  progress: { done: number; total: number | null; phase: string | null };
  message: string | null;
  problems?: unknown[];
  results?: unknown[];
}

export function runSummary(run: any): RunSummary {
  const counts = emptyCounts();
  for (const k of COUNT_KEYS) counts[k] = Number(run.counts?.[k] ?? 0);
  return {
    id: String(run._id),
    connection_id: String(run.connection_id),
    kind: run.kind,
    trigger: run.trigger,
    status: run.status,
    started_at: run.started_at ?? null,
    finished_at: run.finished_at ?? null,
    counts,
    progress: { done: run.progress?.done ?? 0, total: run.progress?.total ?? null, phase: run.progress?.phase ?? null },
    message: run.message ?? null,
    problems: run.problems,
    results: run.results,
  };
}

/**
 * Records (or refreshes) the SyncError of one source record. An error the admin ignored
 * stays ignored while the record is unchanged in the source; a newer modification
 * reopens it.
 */
export async function recordSyncError(input: {
  connection: ConnectionRef;
  run: { _id: Types.ObjectId } | null;
  objectType: string;
  recordId: string;
  error: unknown;
  sourceModifiedAt?: Date | null;
}): Promise<{ ignored: boolean }> {
  const e = input.error;
  const code = e instanceof ConnectorError ? e.code : e instanceof AppError ? e.code : 'permanent';
  // Provider messages and bodies are shown to admins and exported as CSV: strip credentials.
  const message = redactSecrets(e instanceof Error ? e.message : String(e));
  const providerResponse = e instanceof ConnectorError && e.providerResponse ? redactSecrets(e.providerResponse).slice(0, 10_000) : null;
  const key = { connection_id: input.connection._id, object_type: input.objectType, record_id: input.recordId };
  const existing = await SyncError.findOne(key).lean();
  if (existing) {
    const stillIgnored =
      existing.ignored && (!input.sourceModifiedAt || !existing.ignored_source_modified_at || input.sourceModifiedAt <= existing.ignored_source_modified_at);
    await SyncError.updateOne(
      { _id: existing._id },
      {
        $set: { run_id: input.run?._id ?? null, code, message, provider_response: providerResponse, resolved_at: null, ignored: stillIgnored, ...(stillIgnored ? {} : { ignored_at: null, ignored_source_modified_at: null }) },
        $inc: { attempts: 1 },
      },
    );
    return { ignored: stillIgnored };
  }
  try {
    await SyncError.create({ ...key, workspace_id: input.connection.workspace_id, run_id: input.run?._id ?? null, code, message, provider_response: providerResponse });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  return { ignored: false };
}

/** A record that synced cleanly closes its open error. */
export async function resolveSyncErrors(connectionId: Types.ObjectId, objectType: string, recordIds: string[]): Promise<void> {
  if (recordIds.length === 0) return;
  await SyncError.updateMany({ connection_id: connectionId, object_type: objectType, record_id: { $in: recordIds }, resolved_at: null }, { $set: { resolved_at: new Date() } });
}

/** After a complete walk: every open error of this object type that the walk did not hit again is fixed. */
export async function resolveSyncErrorsExcept(connectionId: Types.ObjectId, objectType: string, stillFailing: Iterable<string>): Promise<void> {
  const failing = new Set(stillFailing);
  const open = await SyncError.find({ connection_id: connectionId, object_type: objectType, resolved_at: null }, { record_id: 1 }).lean();
  await resolveSyncErrors(connectionId, objectType, open.map((e) => e.record_id).filter((id) => !failing.has(id)));
}

/** Ignored errors (not yet modified in the source) for these records: the engine skips them. */
export async function ignoredRecords(connectionId: Types.ObjectId, objectType: string, recordIds: string[]): Promise<Map<string, Date | null>> {
  if (recordIds.length === 0) return new Map();
  const rows = await SyncError.find({ connection_id: connectionId, object_type: objectType, record_id: { $in: recordIds }, ignored: true, resolved_at: null }).lean();
  return new Map(rows.map((r) => [r.record_id, r.ignored_source_modified_at ?? null]));
}

export async function openSyncErrors(connectionId: Types.ObjectId) {
  return SyncError.find({ connection_id: connectionId, ignored: false, resolved_at: null }).sort({ updatedAt: -1 }).lean();
}

/** Ignore one error (by id) or all open errors of a connection, until the record changes in the source. */
export async function ignoreSyncErrors(connectionId: Types.ObjectId, opts: { errorId?: string; sourceModifiedAt?: Date | null } = {}): Promise<number> {
  const q: Record<string, unknown> = { connection_id: connectionId, ignored: false, resolved_at: null };
  if (opts.errorId) q._id = new Types.ObjectId(opts.errorId);
  const res = await SyncError.updateMany(q, { $set: { ignored: true, ignored_at: new Date(), ignored_source_modified_at: opts.sourceModifiedAt ?? new Date() } });
  return res.modifiedCount ?? 0;
}

export const SYNC_ERROR_CSV_COLUMNS = ['object_type', 'record_id', 'code', 'message', 'provider_response', 'attempts', 'first_seen_at', 'last_seen_at'] as const;

export function syncErrorRows(errors: any[]) {
  return errors.map((e) => ({
    id: String(e._id),
    object_type: e.object_type,
    record_id: e.record_id,
    code: e.code,
    message: e.message,
    provider_response: e.provider_response ?? '',
    attempts: e.attempts,
    first_seen_at: e.createdAt instanceof Date ? e.createdAt.toISOString() : e.createdAt,
    last_seen_at: e.updatedAt instanceof Date ? e.updatedAt.toISOString() : e.updatedAt,
  }));
}

/** Open errors as CSV, for the admin's download. */
export async function syncErrorsCsv(connectionId: Types.ObjectId): Promise<string> {
  return toCsv(syncErrorRows(await openSyncErrors(connectionId)), SYNC_ERROR_CSV_COLUMNS);
}

/** Validation problems as CSV. */
export function problemsCsv(problems: { object_type: string; record_id: string; problem: string; name?: string | null; match_key?: string | null }[]): string {
  return toCsv(problems, ['object_type', 'record_id', 'name', 'match_key', 'problem']);
}
