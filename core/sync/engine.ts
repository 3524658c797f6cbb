// The provider-neutral sync engine: validate, preview, full, incremental and reconcile
// runs and single-record re-reads (webhooks, Resync), over any Connector (writeback:
// ./writeback-queue.ts).
// Behaviour lives here, data in the connectors: provider errors arrive classified
// (core/connectors/connector.ts) and decide whether to wait, refresh, pause or record.
//
// Every page is applied and then checkpointed (counts + cursor in one write), so a run
// killed anywhere resumes from its last page; replaying a page is harmless because
// SourceLinks and content hashes make applying idempotent. Jobs process a bounded number
// of pages and requeue themselves, so one workspace's backfill cannot starve the others.
import { setTimeout as sleep } from 'node:timers/promises';
import { Types } from 'mongoose';
import pRetry, { AbortError } from 'p-retry';
import { Connection, type ConnectionRole } from '../models/connection.ts';
import { Customer } from '../models/customer.ts';
import { Workspace } from '../models/workspace.ts';
import { SourceLink, SyncRun, type SyncKind } from '../models/sync.ts';
import { ConnectorError, type Connector, type ConnectorContext, type RecordKind, type SourceRecord } from '../connectors/connector.ts';
import { getConnector } from '../connectors/registry.ts';
import { env as appEnv } from '../env.ts';
import { AppError, errorMessage } from '../errors.ts';
import { log } from '../log.ts';
import { isTransientDatabaseError, waitForDatabase } from '../db/transient.ts';
import { fullWalkCompleted, incrementalCompleted, quotaExhausted } from './connection-state.ts';
import { defineJob, enqueue, TRANSIENT_BACKOFF } from '../jobs/agenda.ts';
import { connectorContext, getConnection, markReauthorize, SCHEDULED_SYNC_JOB, type ConnectionDoc } from './connections.ts';
import { applyContactPage, archiveUnseen, mappingOf, type ApplyEnv, type PageOutcome, type PreviewResult } from './apply.ts';
import { applyCustomerPage } from './customer-page.ts';
import { mapCustomer, matchesByDomain, MATCH_PROBLEMS } from './mapping.ts';
import { crmDecisions, decisionCount } from './crm-ambiguous.ts';
import { bumpCounts, createRun, emptyCounts, findOpenRun, finishRun, recordSyncError, resolveSyncErrorsExcept, runSummary, saveProgress, type Counts, type RunSummary } from './runs.ts';
import { billingWalk } from './billing-run.ts';
import { statusEvents } from './customer-events.ts';
import { emitDomainEvents } from '../events/emit.ts';
import type { BillingCounts } from '../billing/apply.ts';

export type RunKind = 'validate' | 'preview' | 'full' | 'incremental' | 'reconcile';
export const RUN_KINDS: RunKind[] = ['validate', 'preview', 'full', 'incremental', 'reconcile'];
const PREVIEW_SIZE = 10;
/** Incremental windows overlap a little: clocks differ and stamps are per second in places. */
const INCREMENTAL_OVERLAP_MS = 60_000;
const MAX_ATTEMPTS = 25;

interface Checkpoint {
  phase: number;
  cursor: string | null;
  since: Record<string, string | null>;
  newest: Record<string, string | null>;
  done: number;
  /** a cursor the provider refused once (retried once, then the phase starts over) */
  refused?: string | null;
  /** phase restarts after refused cursors in this run */
  restarts?: number;
  /** `done` when the current phase began (a restarted phase's progress starts there again) */
  phaseDone?: number;
}

/** A run gives up after this many walk restarts (a provider that refuses every cursor is broken, not expired). */
const MAX_WALK_RESTARTS = 3;

/**
 * The provider no longer knows the cursor (an expired query locator, a Bulk job whose
 * results are gone): retry once from the same checkpoint (a new query from a keyset
 * cursor), then walk the phase again from its start. Applying is idempotent and a
 * complete walk marks what it sees, so a restart loses and duplicates nothing.
 */
function restartAfterInvalidCursor(cp: Checkpoint, e: unknown, runId: unknown): boolean {
  if (!(e instanceof ConnectorError) || e.code !== 'cursor_invalid') return false;
  if (cp.cursor && cp.refused !== cp.cursor) {
    cp.refused = cp.cursor;
  } else {
    if ((cp.restarts ?? 0) >= MAX_WALK_RESTARTS) return false;
    cp.restarts = (cp.restarts ?? 0) + 1;
    cp.cursor = null;
    cp.done = cp.phaseDone ?? 0;
    cp.refused = null;
  }
  log.warn({ run_id: String(runId), err: e.message, restart: cp.cursor === null }, 'the provider refused the sync cursor; the walk continues from the checkpoint or starts the phase over');
  return true;
}

/**
 * Calls the provider with the engine's policy: wait Retry-After on rate limits, back off
 * on temporary errors, refresh an expired OAuth token once; anything else is final.
 */
export async function withProvider<T>(conn: ConnectionDoc, connector: Connector, ctx: ConnectorContext, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let refreshed = false;
  return pRetry(
    async () => {
      try {
        return await fn();
      } catch (e) {
        const err = e instanceof ConnectorError ? e : new ConnectorError('temporary', errorMessage(e));
        if (err.code === 'auth_expired' && !refreshed && connector.oauth && conn.auth_type === 'oauth' && ctx.credentials().refreshToken) {
          refreshed = true;
          try {
            await ctx.saveCredentials(await connector.oauth.refresh(ctx.credentials()));
          } catch (refreshError) {
            throw new AbortError(refreshError instanceof Error ? refreshError : new Error(String(refreshError)));
          }
          throw new ConnectorError('rate_limited', 'retry with refreshed credentials', { retryAfterMs: 0 });
        }
        if (err.code === 'rate_limited' || err.code === 'temporary') throw err;
        throw new AbortError(err);
      }
    },
    {
      retries: MAX_ATTEMPTS,
      minTimeout: 0,
      maxTimeout: 0,
      factor: 1,
      signal,
      onFailedAttempt: async ({ error, attemptNumber }) => {
        const err = error as ConnectorError;
        const wait = err.code === 'rate_limited' ? (err.retryAfterMs ?? 1000) : Math.min(250 * 2 ** (attemptNumber - 1), 5000);
        if (wait > 0) await sleep(wait, undefined, { signal });
      },
    },
  );
}

async function workspaceInfo(workspaceId: Types.ObjectId): Promise<ApplyEnv['workspace']> {
  const ws = await Workspace.findById(workspaceId).lean();
  if (!ws) throw new AppError('not_found', `No workspace with id ${String(workspaceId)}`);
  const members = (ws.members ?? []).map((m: any) => ({ _id: m._id, email: m.email, role: m.role }));
  return { owner_email: members.find((m) => m.role === 'owner')?.email ?? null, members, plans: ws.settings?.plans ?? [] };
}

export async function applyEnv(conn: ConnectionDoc, run: { _id: Types.ObjectId } | null): Promise<ApplyEnv> {
  const connector = getConnector(conn.provider);
  // What this source calls its customer records (company, customer, account): the connector
  // says so, else its links do (a first walk's contacts need it before any link exists).
  const customerLink = connector.customerObjectType ? null : await SourceLink.findOne({ connection_id: conn._id, target_type: 'customer' }, { object_type: 1 }).lean();
  return { connection: conn as any, connector, ctx: connectorContext(conn), run, workspace: await workspaceInfo(conn.workspace_id), ownerCache: new Map(), customerObjectType: connector.customerObjectType ?? customerLink?.object_type };
}

function phases(connector: Connector): RecordKind[] {
  return connector.capabilities.contacts ? ['customer', 'contact'] : ['customer'];
}

/** Records the status transitions of a written page as domain events, in one insert. */
export async function emitStatusEvents(env: ApplyEnv, changes: PageOutcome['statusChanges']): Promise<void> {
  await emitDomainEvents(statusEvents(env, changes));
}

/**
 * The database went away mid-run. The run keeps its status and checkpoint (writing
 * "failed" would need the database anyway, and would drop the progress): whoever runs
 * it waits for the database and continues the same run.
 */
export class RunInterrupted extends Error {
  readonly runId: string;
  constructor(runId: unknown, cause: unknown) {
    super(`database unreachable during sync run ${String(runId)}: ${errorMessage(cause)}`, { cause });
    this.runId = String(runId);
  }
}

export interface RunSyncOptions {
  connectionId: string;
  kind: RunKind;
  trigger: string;
  signal?: AbortSignal;
  /** continue this run (job continuations) */
  runId?: string;
  /** stop after this many pages with the run still `running` (the job requeues it) */
  maxPages?: number;
  /** keeps the job's lock alive during a long unsliced run (the Stripe billing walk) */
  heartbeat?: () => Promise<void>;
}

export async function runSync(opts: RunSyncOptions): Promise<RunSummary> {
  if (!RUN_KINDS.includes(opts.kind)) throw new AppError('bad_input', `sync kind must be one of ${RUN_KINDS.join(', ')}`);
  const conn = await getConnection(opts.connectionId);
  if (conn.state === 'disconnected') throw new AppError('conflict', 'This connection is disconnected: reconnect it to sync');

  let run = opts.runId ? await SyncRun.findById(opts.runId) : null;
  if (!run && (opts.kind === 'full' || opts.kind === 'reconcile' || opts.kind === 'incremental')) run = await findOpenRun(conn._id, opts.kind);
  if (run && run.status === 'paused') await SyncRun.updateOne({ _id: run._id }, { $set: { status: 'running', message: null } });
  run ??= await createRun(conn, opts.kind, opts.trigger);
  if (run.status !== 'running' && run.status !== 'paused') return runSummary(run.toObject());

  if (conn.state === 'reauthorize') {
    return runSummary(await finishRun(run._id, 'paused', { message: `Reauthorize ${conn.provider} to resume: ${conn.state_reason ?? 'credentials expired'}` }));
  }
  if (conn.paused_until && conn.paused_until.getTime() > Date.now()) {
    return runSummary(await finishRun(run._id, 'paused', { message: quotaPauseMessage(conn.provider, conn.paused_until) }));
  }

  // Billing-signal runs share everything below: pauses on expired credentials or quota, failures.
  const billing = (conn.role as ConnectionRole) === 'billing_signal';
  try {
    if (billing) return await billingRun(conn, run, opts);
    const env = await applyEnv(conn, run);
    if (opts.kind === 'validate') return await validateRun(conn, env, run._id, opts.signal);
    const summary = await walk(conn, env, run, opts);
    if (env.connector.billing && summary.status === 'succeeded' && (opts.kind === 'full' || opts.kind === 'incremental' || opts.kind === 'reconcile')) {
      // Stripe as the source: billing fields attach once the customers exist (from the whole book).
      await billingWalk(conn, opts.kind === 'incremental' ? 'reconcile' : opts.kind, { signal: opts.signal }).catch((err) =>
        log.warn({ err, connection_id: String(conn._id) }, 'post-sync billing step failed; the next sync retries it'),
      );
    }
    return summary;
  } catch (e) {
    const err = e instanceof ConnectorError ? e : null;
    if (err?.code === 'auth_expired') {
      await markReauthorize(conn._id, err.message);
      return runSummary(await finishRun(run._id, 'paused', { message: `Reauthorize ${conn.provider} to resume: ${err.message}` }));
    }
    if (err?.code === 'quota_exhausted') {
      const resumeAt = err.resumeAt ?? new Date(Date.now() + 3_600_000);
      await quotaExhausted(conn._id, resumeAt);
      // The run continues from its checkpoint once the provider's window has room again.
      await enqueue(SYNC_RUN_JOB, { connection_id: String(conn._id), kind: opts.kind, trigger: 'quota', run_id: String(run._id) }, { at: resumeAt });
      return runSummary(await finishRun(run._id, 'paused', { message: quotaPauseMessage(conn.provider, resumeAt) }));
    }
    if (opts.signal?.aborted) return runSummary(await finishRun(run._id, 'paused', { message: 'Interrupted; resumes from its checkpoint' }));
    if (isTransientDatabaseError(e)) throw new RunInterrupted(run._id, e);
    log.error({ err: e, connection_id: String(conn._id), run_id: String(run._id) }, 'sync run failed');
    return runSummary(await finishRun(run._id, 'failed', { message: errorMessage(e) }));
  }
}

/**
 * A billing-signal run on the same lifecycle as a walk: the connector reads the book and
 * core/sync/billing-run.ts validates, previews or applies it, while progress, counts,
 * per-record errors, the first-sync stamp and the run's end are kept here. A billing walk
 * is one job (not sliced into pages): its lock is kept alive so it is never taken for dead.
 */
async function billingRun(conn: ConnectionDoc, run: { _id: Types.ObjectId }, opts: RunSyncOptions): Promise<RunSummary> {
  let beat = Date.now();
  const progress = async (p: { counts: BillingCounts; done: number; total: number | null; phase: string }) => {
    await saveProgress(run._id, { counts: billingRunCounts(p.counts), done: p.done, total: p.total, phase: p.phase });
    if (opts.heartbeat && Date.now() - beat > 30_000) {
      beat = Date.now();
      await opts.heartbeat();
    }
  };
  const result = await billingWalk(conn, opts.kind, { signal: opts.signal, progress });
  const aborted = !!opts.signal?.aborted;
  if (opts.kind !== 'validate' && opts.kind !== 'preview') {
    for (const p of result.problems.slice(0, 1000)) {
      await recordSyncError({ connection: conn, run, objectType: 'customer', recordId: p.recordId, error: new ConnectorError('permanent', p.message) });
    }
    // A whole walk saw every billing customer: errors it did not hit again are fixed.
    if (!aborted) await resolveSyncErrorsExcept(conn._id, 'customer', result.problems.map((p) => p.recordId));
    if (!aborted) await fullWalkCompleted(conn, new Date());
  }
  const problems = result.problems.map((p) => ({ object_type: 'customer', record_id: p.recordId, problem: p.message }));
  return runSummary(await finishRun(run._id, aborted ? 'paused' : 'succeeded', { counts: billingRunCounts(result.counts), problems, results: result.results }));
}

function billingRunCounts(b: BillingCounts): Counts {
  return { ...emptyCounts(), matched: b.matched, unmatched: b.unmatched, skipped: b.skipped, ambiguous: b.ambiguous, updated: b.updated, unchanged: b.unchanged, errors: b.errors };
}

export function quotaPauseMessage(provider: string, resumeAt: Date): string {
  return `Paused: the ${provider} API request quota is used up; resuming at ${resumeAt.toISOString()}`;
}

async function walk(conn: ConnectionDoc, env: ApplyEnv, run: any, opts: RunSyncOptions): Promise<RunSummary> {
  const connector = env.connector;
  const kinds = opts.kind === 'preview' ? (['customer'] as RecordKind[]) : phases(connector);
  const counts: Counts = bumpCounts(emptyCounts(), run.counts ?? {});
  const cursors = (conn.cursors ?? {}) as Record<string, string | null>;
  const cp: Checkpoint = (run.checkpoint as Checkpoint | null) ?? {
    phase: 0,
    cursor: null,
    since: Object.fromEntries(
      kinds.map((k) => [k, opts.kind === 'incremental' ? (cursors[k] ?? conn.first_full_sync_at?.toISOString() ?? new Date(0).toISOString()) : null]),
    ),
    newest: {},
    done: 0,
  };
  const fields = [...new Set(mappingOf(env).map((m) => m.source))];
  const results: PreviewResult[] = (run.results as PreviewResult[]) ?? [];
  const complete = opts.kind === 'full' || opts.kind === 'reconcile';
  let pages = 0;

  const fetchPage = (kind: RecordKind, cursor: string | null) => {
    const since = cp.since[kind] ? new Date(new Date(cp.since[kind]!).getTime() - INCREMENTAL_OVERLAP_MS) : null;
    return withProvider(conn, connector, env.ctx, () =>
      connector.pull(env.ctx, { kind, cursor, since, fields: kind === 'customer' ? fields : undefined, pageSize: opts.kind === 'preview' ? PREVIEW_SIZE : undefined, signal: opts.signal }),
      opts.signal,
    );
  };
  // The next page is requested while this one is applied (HTTP and database overlap).
  let ahead: { kind: RecordKind; cursor: string | null; page: ReturnType<typeof fetchPage> } | null = null;
  const take = (kind: RecordKind, cursor: string | null) => {
    const hit = ahead && ahead.kind === kind && ahead.cursor === cursor ? ahead.page : null;
    ahead = null;
    return hit ?? fetchPage(kind, cursor);
  };

  while (cp.phase < kinds.length) {
    const kind = kinds[cp.phase]!;
    let page: Awaited<ReturnType<typeof fetchPage>>;
    try {
      page = await take(kind, cp.cursor);
    } catch (e) {
      if (!restartAfterInvalidCursor(cp, e, run._id)) throw e;
      continue;
    }
    const lastOfSlice = !!opts.maxPages && pages + 1 >= opts.maxPages;
    if (page.nextCursor && opts.kind !== 'preview' && !lastOfSlice && !opts.signal?.aborted) {
      ahead = { kind, cursor: page.nextCursor, page: fetchPage(kind, page.nextCursor) };
      ahead.page.catch(() => {}); // awaited (and its error handled) on the next turn, if any
    }
    if (kind === 'customer' && page.records.length) env.customerObjectType ??= page.records[0]!.objectType;
    const outcome = kind === 'customer' ? await applyCustomerPage(env, page.records) : await applyContactPage(env, page.records);
    bumpCounts(counts, outcome.counts);
    await emitStatusEvents(env, outcome.statusChanges);
    if (opts.kind === 'preview') results.push(...outcome.results);
    for (const r of page.records) {
      const at = r.modifiedAt?.toISOString() ?? null;
      if (at && (!cp.newest[kind] || at > cp.newest[kind]!)) cp.newest[kind] = at;
    }
    if (complete && kind === 'customer' && page.records.length) {
      // Marked before the checkpoint moves (a replayed page marks the same links again).
      await SourceLink.updateMany(
        { connection_id: conn._id, object_type: page.records[0]!.objectType, external_id: { $in: page.records.map((r) => r.externalId) } },
        { $set: { seen_run_id: run._id } },
      );
    }
    cp.done += page.records.length;
    cp.cursor = opts.kind === 'preview' ? null : page.nextCursor;
    if (!cp.cursor) {
      cp.phase++;
      cp.cursor = null;
      cp.phaseDone = cp.done;
    }
    await saveProgress(run._id, { counts, checkpoint: cp, done: cp.done, total: page.total ?? null, phase: kinds[cp.phase] ?? 'finishing' });
    pages++;
    if (cp.phase >= kinds.length) break;
    if (opts.signal?.aborted) return runSummary(await finishRun(run._id, 'paused', { counts, message: 'Interrupted; resumes from its checkpoint' }));
    if (opts.maxPages && pages >= opts.maxPages) return runSummary((await SyncRun.findById(run._id).lean())!);
  }

  const now = new Date();
  if (complete) {
    // A complete walk saw every live record: links it did not see were deleted at the source.
    // Whatever the source calls its customers (a Stripe customer, a HubSpot company).
    for (const objectType of await SourceLink.distinct('object_type', { connection_id: conn._id, target_type: 'customer' })) {
      counts.archived += await archiveUnseen(env, objectType, run._id);
    }
    const from = new Date(run.started_at.getTime() - INCREMENTAL_OVERLAP_MS).toISOString();
    await fullWalkCompleted(conn, now, Object.fromEntries(kinds.map((k) => [k, from])));
  }
  if (opts.kind === 'incremental') {
    await incrementalCompleted(conn._id, now, Object.fromEntries(kinds.filter((k) => cp.newest[k]).map((k) => [k, cp.newest[k]!])));
  }
  return runSummary(await finishRun(run._id, 'succeeded', { counts, results: opts.kind === 'preview' ? results : undefined }));
}

/** Scans without writing: records missing the match key, duplicates in the source, ambiguous matches. */
async function validateRun(conn: ConnectionDoc, env: ApplyEnv, runId: Types.ObjectId, signal?: AbortSignal): Promise<RunSummary> {
  const counts = emptyCounts();
  const problems: { object_type: string; record_id: string; name: string | null; match_key: string | null; problem: string }[] = [];
  const seen = new Map<string, string>();
  const mapping = mappingOf(env);
  const byDomain = matchesByDomain(conn.settings as { match_key?: unknown } | null);
  let cursor: string | null = null;
  let done = 0;
  do {
    const page = await withProvider(conn, env.connector, env.ctx, () => env.connector.pull(env.ctx, { kind: 'customer', cursor, fields: mapping.map((m) => m.source), signal }), signal);
    const mapped = page.records.map((r) => ({ r, m: mapCustomer(r, mapping, env.workspace.plans) }));
    const domains = [...new Set(mapped.map((x) => x.m.domain).filter((d): d is string => !!d))];
    const existing = new Map<string, number>();
    for (const c of await Customer.find({ workspace_id: conn.workspace_id, domain: { $in: domains } }, { domain: 1, sources: 1 }).lean()) {
      if ((c.sources ?? []).some((s: any) => String(s.connection_id) === String(conn._id))) continue;
      existing.set(c.domain!, (existing.get(c.domain!) ?? 0) + 1);
    }
    const decided = await crmDecisions(conn._id, domains); // an admin settled these (core/sync/crm-ambiguous.ts)
    for (const { r, m } of mapped) {
      const problem = (p: string) => problems.push({ object_type: r.objectType, record_id: r.externalId, name: m.name, match_key: m.domain, problem: p });
      if (r.deleted || r.outOfScope) {
        counts.skipped++;
        if (r.outOfScopeReason) problem(r.outOfScopeReason);
        continue;
      }
      if (!byDomain) {
        // Matched by external id: every record is its own customer, whatever its domain.
        counts.unmatched++;
      } else if (!m.domain) {
        counts.skipped++;
        problem(MATCH_PROBLEMS.noDomain);
      } else if (decided.has(m.domain)) {
        counts[decisionCount(decided.get(m.domain)!)]++;
      } else if (seen.has(m.domain)) {
        counts.skipped++;
        problem(MATCH_PROBLEMS.duplicate(seen.get(m.domain)!));
      } else {
        seen.set(m.domain, r.externalId);
        const hits = existing.get(m.domain) ?? 0;
        if (hits > 1) {
          counts.ambiguous++;
          problem(MATCH_PROBLEMS.severalCustomers(hits));
        } else if (hits === 1) counts.matched++;
        else counts.unmatched++;
      }
    }
    done += page.records.length;
    cursor = page.nextCursor;
    await saveProgress(runId, { counts, done, total: page.total ?? null, phase: 'customer' });
  } while (cursor && !signal?.aborted);
  return runSummary(await finishRun(runId, signal?.aborted ? 'paused' : 'succeeded', { counts, problems }));
}

/** Re-reads one source record (webhook, Resync, Retry this record) and applies it; newest source state wins. */
export async function syncRecord(connectionId: string, kind: RecordKind, externalId: string, trigger = 'record'): Promise<RunSummary> {
  const conn = await getConnection(connectionId);
  if (conn.state !== 'connected') throw new AppError('conflict', `Connection is ${conn.state}: cannot sync records`);
  const run = await createRun(conn, 'record' as SyncKind, trigger);
  const env = await applyEnv(conn, run);
  try {
    const rec = await withProvider(conn, env.connector, env.ctx, () => env.connector.fetchOne(env.ctx, kind, externalId));
    // Gone from the source: archive it under the object type its link was made with.
    const known = rec ? null : await SourceLink.findOne({ connection_id: conn._id, target_type: kind, external_id: externalId }, { object_type: 1 }).lean();
    const record: SourceRecord = rec ?? { kind, objectType: known?.object_type ?? (kind === 'customer' ? (env.customerObjectType ?? 'company') : 'contact'), externalId, modifiedAt: null, deleted: true, fields: {} };
    const outcome = kind === 'customer' ? await applyCustomerPage(env, [record]) : await applyContactPage(env, [record]);
    await emitStatusEvents(env, outcome.statusChanges);
    await incrementalCompleted(conn._id, new Date());
    return runSummary(await finishRun(run._id, 'succeeded', { counts: outcome.counts }));
  } catch (e) {
    if (isTransientDatabaseError(e)) throw e; // the record job's backoff retries it
    if (e instanceof ConnectorError && e.code === 'auth_expired') await markReauthorize(conn._id, e.message);
    return runSummary(await finishRun(run._id, 'failed', { message: errorMessage(e) }));
  }
}

/** The link of a customer to its record in its customer source, if it has one. */
export async function customerSourceLink(customerId: string) {
  if (!Types.ObjectId.isValid(customerId)) throw new AppError('bad_input', `customer "${customerId}" is not a valid id`);
  return SourceLink.findOne({ target_id: new Types.ObjectId(customerId), target_type: 'customer' }).lean();
}

/** Per-customer Resync: re-reads the customer's record in its customer source. */
export async function resyncCustomer(customerId: string): Promise<RunSummary> {
  const link = await customerSourceLink(customerId);
  if (!link) throw new AppError('not_found', 'This customer is not linked to a source record');
  return syncRecord(String(link.connection_id), 'customer', link.external_id, 'resync');
}

/** Queues a per-customer Resync for the worker (the card's Resync button). */
export async function queueCustomerResync(customerId: string, actor: Record<string, unknown>): Promise<string> {
  // Duplicates are harmless (a resync is idempotent), so no unique key that could block later ones.
  return enqueue(RESYNC_CUSTOMER_JOB, { customer_id: customerId, actor });
}

export const SYNC_RUN_JOB = 'sync.run';
export const SYNC_RECORD_JOB = 'sync.record';
export const RESYNC_CUSTOMER_JOB = 'sync.resync_customer';

/** Queues a run for the worker; at most one pending run per connection and kind. */
export async function queueSync(connectionId: string, kind: RunKind, trigger: string): Promise<string> {
  await getConnection(connectionId);
  return enqueue(SYNC_RUN_JOB, { connection_id: connectionId, kind, trigger }, { unique: { name: SYNC_RUN_JOB, 'data.connection_id': connectionId, 'data.kind': kind, lastFinishedAt: null } });
}

export async function queueRecordSync(connectionId: string, kind: RecordKind, externalId: string): Promise<string> {
  return enqueue(SYNC_RECORD_JOB, { connection_id: connectionId, kind, external_id: externalId });
}

/** How long a sync job waits in place for a restarted database before leaving it to the job's backoff. */
const DATABASE_WAIT_MS = 5 * 60_000;

const syncRunJob = defineJob<{ connection_id: string; kind: RunKind; trigger?: string; run_id?: string }>(SYNC_RUN_JOB, async (data, ctx) => {
  let runId = data.run_id;
  let summary: RunSummary;
  for (;;) {
    try {
      summary = await runSync({ connectionId: data.connection_id, kind: data.kind, trigger: data.trigger ?? 'job', runId, signal: ctx.signal, maxPages: appEnv().PIVOTAL_SYNC_PAGES_PER_SLICE, heartbeat: () => ctx.touch() });
      break;
    } catch (e) {
      if (!(e instanceof RunInterrupted)) throw e;
      runId = e.runId;
      log.warn({ run_id: runId, err: errorMessage(e.cause) }, 'database unreachable: the sync run waits for it, then resumes from its checkpoint');
      if (!(await waitForDatabase(DATABASE_WAIT_MS, ctx.signal))) throw e;
    }
  }
  await ctx.touch();
  // Still running: give other workspaces' jobs a turn, then continue from the checkpoint.
  if (summary.status === 'running' || (summary.status === 'paused' && ctx.signal.aborted)) {
    await enqueue(SYNC_RUN_JOB, { connection_id: data.connection_id, kind: data.kind, trigger: data.trigger ?? 'job', run_id: summary.id });
  }
}, { backoff: TRANSIENT_BACKOFF });

const scheduledSyncJob = defineJob<{ connection_id: string; kind: RunKind; schedule: string }>(SCHEDULED_SYNC_JOB, async (data) => {
  const conn = await Connection.findById(data.connection_id).lean();
  if (!conn || conn.state !== 'connected') return;
  if (data.schedule === 'hourly' && (conn.settings as any)?.auto_sync === false) return;
  await queueSync(data.connection_id, data.kind, 'schedule');
}, { backoff: TRANSIENT_BACKOFF });

const syncRecordJob = defineJob<{ connection_id: string; kind: RecordKind; external_id: string }>(SYNC_RECORD_JOB, async (data) => {
  const summary = await syncRecord(data.connection_id, data.kind, data.external_id, 'record');
  if (summary.status === 'failed') throw new Error(summary.message ?? 'record sync failed');
}, { backoff: TRANSIENT_BACKOFF });

const resyncCustomerJob = defineJob<{ customer_id: string; actor?: unknown }>(RESYNC_CUSTOMER_JOB, async (data) => {
  const summary = await resyncCustomer(data.customer_id);
  log.info({ customer_id: data.customer_id, actor: data.actor, status: summary.status }, 'customer resync');
  if (summary.status === 'failed') throw new Error(summary.message ?? 'customer resync failed');
}, { backoff: TRANSIENT_BACKOFF });

/** Every job of the sync engine, for the composition root. */
export const syncJobs = [syncRunJob, scheduledSyncJob, syncRecordJob, resyncCustomerJob];
