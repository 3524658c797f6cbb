// Writeback of Pivotal-owned changes (status, owner, plan, name) to the customer source,
// batched per connection. A request is recorded durably (one PendingWriteback per
// connection and customer, so repeated changes coalesce to the latest values) and kicks
// the connection's drain job, which claims up to the connector's batch size at a time
// (Salesforce: 200 per sObject collections call; a connector without a batch API: one)
// and deletes each request once the source has it. Per-record refusals become SyncErrors;
// a transient failure releases the claims and Agenda's backoff retries the job, so
// nothing is lost; the written records are re-read and applied, so the next poll or
// webhook does not bring Pivotal's own change back as an edit.
import { Types } from 'mongoose';
import { Connection } from '../models/connection.ts';
import { SourceLink } from '../models/sync.ts';
import { PendingWriteback } from '../models/writeback.ts';
import { ConnectorError, type Connector, type ConnectorContext, type SourceRecord, type Writeback, type WritebackItem, type WritebackResult } from '../connectors/connector.ts';
import { getConnector } from '../connectors/registry.ts';
import { defineJob, enqueue, TRANSIENT_BACKOFF } from '../jobs/agenda.ts';
import { errorMessage } from '../errors.ts';
import { log } from '../log.ts';
import { applyCustomerPage } from './customer-page.ts';
import { quotaExhausted } from './connection-state.ts';
import { connectorContext, markReauthorize, type ConnectionDoc } from './connections.ts';
import { applyEnv, emitStatusEvents, withProvider } from './engine.ts';
import { createRun, finishRun, recordSyncError } from './runs.ts';

/** A status change asks for a writeback by this job name (core/customers/status.ts). */
export const SYNC_WRITEBACK_JOB = 'sync.writeback';
export const WRITEBACK_DRAIN_JOB = 'sync.writeback_drain';
/** A drain starts this long after the first request, so a burst of changes goes out in full batches. */
const DRAIN_DELAY_MS = 2_000;
/** A claim's lease: a worker that dies mid-batch leaves its requests claimable again after it. */
const CLAIM_LEASE_MS = 10 * 60_000;

type PendingDoc = { _id: Types.ObjectId; customer_id: Types.ObjectId; object_type: string; external_id: string; changes?: Writeback | null; rev: number };
export type RecordOutcome = { queued: true; connectionId: string } | { queued: false; reason: string };
export interface DrainOutcome {
  written: number;
  failed: number;
  /** why requests were left waiting (reauthorize, quota pause), if they were */
  waiting: string | null;
  results: { customerId: string; ok: boolean; reason?: string }[];
}

const hasWriteback = (c: Connector) => !!(c.writeback || c.writebackMany);

/** The changes the provider can write, without the unset ones. */
function allowedChanges(connector: Connector, changes: Writeback | null | undefined): Writeback {
  return Object.fromEntries(Object.entries(changes ?? {}).filter(([k, v]) => v !== undefined && connector.capabilities.writeback.includes(k as keyof Writeback)));
}

/** Why a connection takes no writeback at all (its requests are dropped), or null. */
function refusal(conn: Pick<ConnectionDoc, 'role' | 'state' | 'settings' | 'provider'> | null): string | null {
  if (!conn || conn.role !== 'customer_source' || conn.state === 'disconnected') return `connection is ${conn?.state ?? 'gone'}`;
  if ((conn.settings as { writeback?: unknown } | null)?.writeback === false) return 'writeback is off';
  if (!hasWriteback(getConnector(conn.provider))) return 'provider has no writeback';
  return null;
}

/** Records a writeback request for the customer's source record and kicks its connection's drain. */
export async function recordWriteback(customerId: string, changes: Writeback, actor: unknown = null): Promise<RecordOutcome> {
  if (!Types.ObjectId.isValid(customerId)) return { queued: false, reason: `customer "${customerId}" is not a valid id` };
  const link = await SourceLink.findOne({ target_id: new Types.ObjectId(customerId), target_type: 'customer' }).lean();
  if (!link) return { queued: false, reason: 'not linked to a source' };
  const conn = await Connection.findById(link.connection_id).lean();
  const refused = refusal(conn as ConnectionDoc | null);
  if (refused) return { queued: false, reason: refused };
  const allowed = allowedChanges(getConnector(conn!.provider), changes);
  if (Object.keys(allowed).length === 0) return { queued: false, reason: 'nothing to write' };
  const now = new Date();
  const set = Object.fromEntries(Object.entries(allowed).map(([k, v]) => [`changes.${k}`, v]));
  const upsert = () =>
    PendingWriteback.updateOne(
      { connection_id: link.connection_id, customer_id: link.target_id },
      { $set: { ...set, workspace_id: link.workspace_id, object_type: link.object_type, external_id: link.external_id, actor }, $inc: { rev: 1 }, $setOnInsert: { available_at: now, requested_at: now, claim: null } },
      { upsert: true },
    );
  // Two first requests for one customer at once: one inserts, the other's upsert collides; then it updates.
  await upsert().catch((e: unknown) => ((e as { code?: number }).code === 11000 ? upsert() : Promise.reject(e)));
  await queueDrain(String(link.connection_id), new Date(now.getTime() + DRAIN_DELAY_MS));
  return { queued: true, connectionId: String(link.connection_id) };
}

/** At most one drain waiting to start per connection (a running one does not count: it may have passed the newest request). */
export async function queueDrain(connectionId: string, at = new Date()): Promise<string> {
  return enqueue(WRITEBACK_DRAIN_JOB, { connection_id: connectionId }, { at, unique: { name: WRITEBACK_DRAIN_JOB, 'data.connection_id': connectionId, lockedAt: null, lastFinishedAt: null } });
}

/** Claims up to `size` claimable requests of the connection (a lease, so concurrent drains split them). */
async function claim(connectionId: Types.ObjectId, size: number): Promise<PendingDoc[]> {
  const now = new Date();
  const ids = (await PendingWriteback.find({ connection_id: connectionId, available_at: { $lte: now } }, { _id: 1 }).sort({ available_at: 1 }).limit(size).lean()).map((d) => d._id);
  if (ids.length === 0) return [];
  const claimId = new Types.ObjectId();
  await PendingWriteback.updateMany({ _id: { $in: ids }, available_at: { $lte: now } }, { $set: { claim: claimId, available_at: new Date(now.getTime() + CLAIM_LEASE_MS) } });
  return (await PendingWriteback.find({ _id: { $in: ids }, claim: claimId }).lean()) as unknown as PendingDoc[];
}

async function release(docs: PendingDoc[]): Promise<void> {
  if (docs.length) await PendingWriteback.updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $set: { claim: null, available_at: new Date() } });
}

/** Done with a request: deleted, unless a newer change came in meanwhile (then it goes out again). */
async function settle(doc: PendingDoc): Promise<void> {
  const { deletedCount } = await PendingWriteback.deleteOne({ _id: doc._id, rev: doc.rev });
  if (!deletedCount) await release([doc]);
}

/** One call per batch where the connector has a batch API, else one per record. */
async function writeItems(connector: Connector, ctx: ConnectorContext, items: WritebackItem[]): Promise<WritebackResult[]> {
  const todo = items.filter((i) => Object.keys(i.changes).length > 0);
  const results: WritebackResult[] = items.filter((i) => !todo.includes(i)).map((i) => ({ externalId: i.externalId, ok: true }));
  if (connector.writebackMany) return [...results, ...(todo.length ? await connector.writebackMany(ctx, todo) : [])];
  for (const item of todo) {
    try {
      await connector.writeback!(ctx, item.externalId, item.changes);
      results.push({ externalId: item.externalId, ok: true });
    } catch (e) {
      if (!(e instanceof ConnectorError) || e.code !== 'permanent') throw e;
      results.push({ externalId: item.externalId, ok: false, error: e });
    }
  }
  return results;
}

/** Re-reads the written records and applies them: the source's new stamps and hashes are stored, so no echo. */
async function reread(conn: ConnectionDoc, connector: Connector, ctx: ConnectorContext, externalIds: string[]): Promise<void> {
  if (externalIds.length === 0) return;
  const records: SourceRecord[] = connector.fetchMany
    ? await withProvider(conn, connector, ctx, () => connector.fetchMany!(ctx, 'customer', externalIds))
    : (await Promise.all(externalIds.map((id) => withProvider(conn, connector, ctx, () => connector.fetchOne(ctx, 'customer', id))))).filter((r): r is SourceRecord => !!r);
  if (records.length === 0) return;
  const run = await createRun(conn, 'record', 'writeback');
  const env = await applyEnv(conn, run);
  const outcome = await applyCustomerPage(env, records);
  await emitStatusEvents(env, outcome.statusChanges);
  await finishRun(run._id, 'succeeded', { counts: outcome.counts });
}

type BatchEnd = 'continue' | { waiting: string };

/** Writes one claimed batch; provider trouble that is not the records' own releases the claims. */
async function writeBatch(conn: ConnectionDoc, connector: Connector, ctx: ConnectorContext, docs: PendingDoc[], out: DrainOutcome, signal?: AbortSignal): Promise<BatchEnd> {
  const items = docs.map((d) => ({ externalId: d.external_id, changes: allowedChanges(connector, d.changes) }));
  let results: WritebackResult[];
  try {
    results = await withProvider(conn, connector, ctx, () => writeItems(connector, ctx, items), signal);
  } catch (e) {
    const err = e instanceof ConnectorError ? e : null;
    // Refused as a whole (e.g. Salesforce has no Pivotal_Status__c): every record's own error.
    if (err?.code === 'permanent') results = items.map((i) => ({ externalId: i.externalId, ok: false, error: err }));
    else {
      await release(docs);
      if (err?.code === 'auth_expired') {
        await markReauthorize(conn._id, err.message);
        return { waiting: `Reauthorize ${conn.provider}: ${err.message}` };
      }
      if (err?.code === 'quota_exhausted') {
        const resumeAt = err.resumeAt ?? new Date(Date.now() + 3_600_000);
        await quotaExhausted(conn._id, resumeAt);
        await queueDrain(String(conn._id), resumeAt);
        return { waiting: `quota used up until ${resumeAt.toISOString()}` };
      }
      throw e; // transient: the job's backoff retries it; the requests are claimable again
    }
  }
  const byId = new Map(results.map((r) => [r.externalId, r]));
  const written: string[] = [];
  for (const doc of docs) {
    const r = byId.get(doc.external_id) ?? { externalId: doc.external_id, ok: false, error: new ConnectorError('permanent', 'The source gave no answer for this record') };
    if (r.ok) written.push(doc.external_id);
    else await recordSyncError({ connection: conn, run: null, objectType: doc.object_type, recordId: doc.external_id, error: r.error });
    out.results.push({ customerId: String(doc.customer_id), ok: r.ok, reason: r.ok ? undefined : r.error?.message });
    if (r.ok) out.written++;
    else out.failed++;
    await settle(doc);
  }
  await reread(conn, connector, ctx, written).catch((err: unknown) => log.warn({ err: errorMessage(err), connection_id: String(conn._id) }, 'writeback re-read failed; the next poll or webhook brings the records'));
  return 'continue';
}

/** Writes every claimable request of the connection, a batch at a time. */
export async function drainWritebacks(connectionId: string, opts: { signal?: AbortSignal; heartbeat?: () => Promise<void> } = {}): Promise<DrainOutcome> {
  const out: DrainOutcome = { written: 0, failed: 0, waiting: null, results: [] };
  if (!Types.ObjectId.isValid(connectionId)) return out;
  const conn = (await Connection.findById(connectionId)) as ConnectionDoc | null;
  const refused = refusal(conn);
  if (refused || !conn) {
    // Disconnected, or writeback turned off: what was asked is no longer wanted.
    await PendingWriteback.deleteMany({ connection_id: new Types.ObjectId(connectionId) });
    out.waiting = refused;
    return out;
  }
  if (conn.state === 'reauthorize') return { ...out, waiting: `Reauthorize ${conn.provider} to write back` };
  if (conn.paused_until && conn.paused_until.getTime() > Date.now()) {
    await queueDrain(connectionId, conn.paused_until);
    return { ...out, waiting: `quota used up until ${conn.paused_until.toISOString()}` };
  }
  const connector = getConnector(conn.provider);
  const ctx = connectorContext(conn);
  const size = Math.max(1, connector.capabilities.writebackBatchSize ?? 1);
  while (!opts.signal?.aborted) {
    const docs = await claim(conn._id, size);
    if (docs.length === 0) break;
    const end = await writeBatch(conn, connector, ctx, docs, out, opts.signal);
    if (end !== 'continue') return { ...out, waiting: end.waiting };
    await opts.heartbeat?.();
  }
  return out;
}

/**
 * Writes one customer's changes now (the API and tests): records the request and drains
 * its connection, so it goes out with whatever else was waiting there.
 */
export async function writebackCustomer(customerId: string, changes: Writeback): Promise<{ written: boolean; reason?: string }> {
  const queued = await recordWriteback(customerId, changes);
  if (!queued.queued) return { written: false, reason: queued.reason };
  const drained = await drainWritebacks(queued.connectionId);
  const mine = drained.results.find((r) => r.customerId === customerId);
  if (mine) return mine.ok ? { written: true } : { written: false, reason: mine.reason };
  return { written: false, reason: drained.waiting ?? 'queued' };
}

const recordJob = defineJob<{ customer_id: string; changes: Writeback; actor?: unknown }>(SYNC_WRITEBACK_JOB, async (data) => {
  const r = await recordWriteback(data.customer_id, data.changes ?? {}, data.actor ?? null);
  log.info({ customer_id: data.customer_id, ...r }, 'writeback requested');
}, { backoff: TRANSIENT_BACKOFF });

const drainJob = defineJob<{ connection_id: string }>(WRITEBACK_DRAIN_JOB, async (data, ctx) => {
  const r = await drainWritebacks(data.connection_id, { signal: ctx.signal, heartbeat: () => ctx.touch() });
  log.info({ connection_id: data.connection_id, written: r.written, failed: r.failed, waiting: r.waiting }, 'writeback drained');
  // Stopped by a shutdown with requests left: the next worker continues.
  if (ctx.signal.aborted) await queueDrain(data.connection_id);
}, { backoff: TRANSIENT_BACKOFF });

/** The writeback jobs, for the composition root. */
export const writebackJobs = [recordJob, drainJob];
