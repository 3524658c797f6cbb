// Recomputes health scores and stores them on the customer: for a whole workspace (the
// nightly run and `pivotal health recompute`) or for the customers whose signals changed.
// Churned and archived customers are skipped, so their score stays frozen. A drop of 10+
// and a bucket change become domain events (Slack alerts, outbound webhooks) and Activity
// rows. Runs also record MRR changes per customer, the history the 90-day trend reads.
import { Types } from 'mongoose';
import { Customer } from '../models/customer.ts';
import { Workspace } from '../models/workspace.ts';
import { HealthState, MRR_HISTORY_DAYS, MrrSnapshot } from '../models/health.ts';
import { AppError } from '../errors.ts';
import { emitDomainEvent } from '../events/emit.ts';
import { recordActivity, SYSTEM_ACTOR } from '../activity/activity.ts';
import { attachBilling } from '../billing/store.ts';
import { highestDisplayId } from '../customers/customers.ts';
import { computeHealth, healthSettings, healthTransitions, type HealthResult } from './score.ts';

const BATCH = 1_000;
const TREND_DAYS = 90;
const FROZEN: ('churned' | 'archived')[] = ['churned', 'archived'];
const CUSTOMER_FIELDS = { _id: 1, workspace_id: 1, display_id: 1, name: 1, status: 1, health: 1, last_activity_at: 1, source_created_at: 1, billing: 1 } as const;

export interface RecomputeSummary {
  workspace_id: string;
  scored: number;
  unscored: number;
  score_drops: number;
  bucket_changes: number;
  median_mrr: number | null;
}

type Settings = ReturnType<typeof healthSettings>;
type CustomerRow = { _id: Types.ObjectId; workspace_id: Types.ObjectId; display_id: number; name: string; status: string; health?: any; last_activity_at?: Date | null; source_created_at?: Date | null; billing: { mrr: number | null; payment_status: string; billing_started_at: Date | null } };

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** Median MRR of the workspace's paying, live customers (what "contract size" compares to). */
export async function workspaceMedianMrr(workspaceId: Types.ObjectId): Promise<number | null> {
  const mrrs: number[] = [];
  const cursor = Customer.find({ workspace_id: workspaceId, status: { $nin: FROZEN }, 'billing.mrr': { $gt: 0 } }, { 'billing.mrr': 1 }).lean().cursor({ batchSize: 5_000 });
  for await (const c of cursor) mrrs.push((c as any).billing.mrr);
  if (!mrrs.length) return null;
  mrrs.sort((a, b) => a - b);
  const mid = mrrs.length >> 1;
  return mrrs.length % 2 ? mrrs[mid]! : Math.round((mrrs[mid - 1]! + mrrs[mid]!) / 2);
}

interface MrrHistory {
  /** MRR as of 90 days ago (the reading in force then), else the oldest one kept */
  baseline: { mrr: number; at: Date };
  /** the newest reading */
  latest: { mrr: number; at: Date };
}

/**
 * MRR history is kept as change points: a reading is written only when MRR differs from
 * the newest one (or that one is old enough to be near its TTL), so a nightly run over a
 * stable book writes almost nothing. The value 90 days ago is the newest reading at or
 * before then.
 */
async function mrrHistories(ids: Types.ObjectId[], now: Date): Promise<Map<string, MrrHistory>> {
  const cut = new Date(now.getTime() - TREND_DAYS * 86_400_000);
  const rows = await MrrSnapshot.aggregate<{ _id: Types.ObjectId; before: { mrr: number; at: Date } | null; oldest: { mrr: number; at: Date }; latest: { mrr: number; at: Date } }>([
    { $match: { customer_id: { $in: ids } } },
    { $sort: { customer_id: 1, at: 1 } },
    {
      $group: {
        _id: '$customer_id',
        oldest: { $first: { mrr: '$mrr', at: '$at' } },
        latest: { $last: { mrr: '$mrr', at: '$at' } },
        before: { $max: { $cond: [{ $lte: ['$at', cut] }, { at: '$at', mrr: '$mrr' }, null] } },
      },
    },
  ]);
  return new Map(rows.map((r) => [String(r._id), { baseline: r.before ?? r.oldest, latest: r.latest }]));
}

/** A reading older than this is written again so the TTL never removes the one in force. */
const REFRESH_READING_AFTER_MS = (MRR_HISTORY_DAYS - 30) * 86_400_000;

/** The stored health differs in something a person sees (not just when it was computed). */
function healthChanged(stored: any, next: HealthResult): boolean {
  if (!stored || stored.score !== next.score || stored.bucket !== next.bucket) return true;
  return JSON.stringify(stored.breakdown ?? []) !== JSON.stringify(next.breakdown);
}

async function scoreBatch(rows: CustomerRow[], ctx: { settings: Settings; median: number | null; now: Date }, summary: RecomputeSummary): Promise<void> {
  if (!rows.length) return;
  const { now } = ctx;
  const histories = await mrrHistories(rows.map((r) => r._id), now);
  const writes: any[] = [];
  const snapshots: any[] = [];
  const changes: { row: CustomerRow; next: HealthResult; dropped: boolean; bucketChanged: boolean }[] = [];
  for (const row of rows) {
    const b = row.billing;
    const next = computeHealth(
      {
        now,
        payment_status: b.payment_status,
        mrr: b.mrr,
        mrr_baseline: histories.get(String(row._id))?.baseline ?? null,
        started_at: b.billing_started_at ?? row.source_created_at ?? null,
        workspace_median_mrr: ctx.median,
        last_activity_at: row.last_activity_at ?? null,
      },
      ctx.settings.weights,
      ctx.settings.thresholds,
    );
    if (next.score == null) summary.unscored++;
    else summary.scored++;
    const previous = { score: row.health?.score ?? null, bucket: row.health?.bucket ?? null };
    const t = healthTransitions(previous, next);
    if (t.dropped || t.bucketChanged) changes.push({ row, next, ...t });
    // Only what changed is written (a stable book costs reads, not writes). The status guard
    // keeps a customer churned meanwhile frozen; no updatedAt bump, so the change sweep
    // does not mistake its own writes for signal changes.
    if (healthChanged(row.health, next)) {
      writes.push({
        updateOne: {
          filter: { _id: row._id, workspace_id: row.workspace_id, status: { $nin: FROZEN } },
          update: { $set: { health: { score: next.score, bucket: next.bucket, breakdown: next.breakdown, computed_at: now } } },
          timestamps: false,
        },
      });
    }
    const latest = histories.get(String(row._id))?.latest;
    if (b.mrr != null && (!latest || latest.mrr !== b.mrr || now.getTime() - latest.at.getTime() > REFRESH_READING_AFTER_MS)) {
      snapshots.push({
        updateOne: { filter: { customer_id: row._id, day: utcDay(now) }, update: { $set: { mrr: b.mrr, at: now }, $setOnInsert: { workspace_id: row.workspace_id } }, upsert: true },
      });
    }
  }
  if (writes.length) await Customer.bulkWrite(writes, { ordered: false, timestamps: false } as any);
  if (snapshots.length) await MrrSnapshot.bulkWrite(snapshots, { ordered: false });
  for (const c of changes) await raiseHealthEvents(c.row, c.next, c, summary);
}

async function raiseHealthEvents(row: CustomerRow, next: HealthResult, t: { dropped: boolean; bucketChanged: boolean }, summary: RecomputeSummary): Promise<void> {
  const prevScore = row.health?.score ?? null;
  const prevBucket = row.health?.bucket ?? null;
  const since = row.health?.computed_at ? new Date(row.health.computed_at).getTime() : 'never';
  const key = `${String(row._id)}:health:${since}`;
  const data = { customer_id: String(row._id), display_id: row.display_id, name: row.name, score: next.score, bucket: next.bucket, previous_score: prevScore, previous_bucket: prevBucket };
  const base = { workspaceId: row.workspace_id, customerId: row._id, data, previous: { score: prevScore, bucket: prevBucket }, actor: { type: 'system' as const, id: SYSTEM_ACTOR } };
  const rows = [];
  if (t.dropped && (await emitDomainEvent({ ...base, type: 'customer.health_score_dropped', dedupeKey: `${key}:dropped:${prevScore}->${next.score}` }))) {
    summary.score_drops++;
    rows.push({ eventType: 'health_score_dropped', field: 'health.score', oldValue: prevScore, newValue: next.score });
  }
  if (t.bucketChanged && (await emitDomainEvent({ ...base, type: 'customer.health_bucket_changed', dedupeKey: `${key}:bucket:${prevBucket}->${next.bucket}` }))) {
    summary.bucket_changes++;
    rows.push({ eventType: 'health_bucket_changed', field: 'health.bucket', oldValue: prevBucket, newValue: next.bucket });
  }
  if (rows.length) await recordActivity(rows.map((r) => ({ workspaceId: row.workspace_id, customerId: row._id, actor: SYSTEM_ACTOR, actorType: 'system' as const, ...r })));
}

async function loadSettings(workspaceId: Types.ObjectId): Promise<Settings> {
  const ws = await Workspace.findById(workspaceId, { settings: 1 }).lean();
  if (!ws) throw new AppError('not_found', `Workspace ${String(workspaceId)} not found`);
  return healthSettings(ws.settings as any);
}

async function scoreQuery(query: Record<string, unknown>, ctx: { settings: Settings; median: number | null; now: Date }, summary: RecomputeSummary) {
  const cursor = Customer.find(query, CUSTOMER_FIELDS).lean().cursor({ batchSize: BATCH });
  let batch: any[] = [];
  const flush = async () => {
    await scoreBatch(await attachBilling(batch), ctx, summary);
    batch = [];
  };
  for await (const c of cursor) {
    batch.push(c);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
}

/**
 * The workspace's live customers, BATCH display ids at a time. Each read is bounded by its
 * window, so it costs about BATCH rows even on an engine that materialises a query's whole
 * match (README, engine notes: one cursor over 100,000 customers took 18 s before its first
 * batch), and no cursor stays open across a long run. The last window is open-ended, so
 * customers created meanwhile are scored too.
 */
async function* liveCustomerWindows(workspaceId: Types.ObjectId): AsyncGenerator<CustomerRow[]> {
  const highest = await highestDisplayId(workspaceId);
  for (let from = 0; ; from += BATCH) {
    const last = from + BATCH >= highest;
    const window = last ? { $gt: from } : { $gt: from, $lte: from + BATCH };
    const rows = await Customer.find({ workspace_id: workspaceId, display_id: window }, CUSTOMER_FIELDS).lean<CustomerRow[]>();
    yield rows.filter((r) => !FROZEN.includes(r.status as (typeof FROZEN)[number]));
    if (last) return;
  }
}

/** Rescores every live customer of the workspace (nightly, and `pivotal health recompute`). */
export async function recomputeWorkspaceHealth(workspaceId: Types.ObjectId, opts: { now?: Date; onBatch?: () => Promise<void> } = {}): Promise<RecomputeSummary> {
  const now = opts.now ?? new Date();
  const settings = await loadSettings(workspaceId);
  const median = await workspaceMedianMrr(workspaceId);
  const summary: RecomputeSummary = { workspace_id: String(workspaceId), scored: 0, unscored: 0, score_drops: 0, bucket_changes: 0, median_mrr: median };
  for await (const rows of liveCustomerWindows(workspaceId)) {
    await scoreBatch(await attachBilling(rows), { settings, median, now }, summary);
    await opts.onBatch?.();
  }
  await HealthState.updateOne({ workspace_id: workspaceId }, { $set: { median_mrr: median, median_at: now, last_full_at: now } }, { upsert: true });
  return summary;
}

/**
 * Rescores the customers updated since the last sweep (a sync or billing write, a status
 * change): "whenever a signal changes" without every writer having to know about health.
 * Contract size uses the median of the last full run.
 */
export async function recomputeChangedHealth(workspaceId: Types.ObjectId, opts: { now?: Date; limit?: number } = {}): Promise<RecomputeSummary> {
  const now = opts.now ?? new Date();
  const state = await HealthState.findOne({ workspace_id: workspaceId }).lean();
  const median = state?.median_at ? (state.median_mrr ?? null) : await workspaceMedianMrr(workspaceId);
  const summary: RecomputeSummary = { workspace_id: String(workspaceId), scored: 0, unscored: 0, score_drops: 0, bucket_changes: 0, median_mrr: median };
  const since = state?.changes_seen_until ?? new Date(0);
  const changed = await Customer.find({ workspace_id: workspaceId, updatedAt: { $gte: since } }, { _id: 1, updatedAt: 1 }).sort({ updatedAt: 1 }).limit(opts.limit ?? 5_000).lean();
  if (!changed.length) return summary;
  const settings = await loadSettings(workspaceId);
  await scoreQuery({ _id: { $in: changed.map((c) => c._id) }, workspace_id: workspaceId, status: { $nin: FROZEN } }, { settings, median, now }, summary);
  const until = changed[changed.length - 1]!.updatedAt as Date;
  await HealthState.updateOne({ workspace_id: workspaceId }, { $set: { changes_seen_until: new Date(until.getTime() + 1), ...(state?.median_at ? {} : { median_mrr: median, median_at: now }) } }, { upsert: true });
  return summary;
}

/** Rescores one customer now (e.g. a customer back from churned). */
export async function recomputeCustomerHealth(workspaceId: Types.ObjectId, customerId: Types.ObjectId): Promise<RecomputeSummary> {
  const state = await HealthState.findOne({ workspace_id: workspaceId }).lean();
  const median = state?.median_at ? (state.median_mrr ?? null) : await workspaceMedianMrr(workspaceId);
  const summary: RecomputeSummary = { workspace_id: String(workspaceId), scored: 0, unscored: 0, score_drops: 0, bucket_changes: 0, median_mrr: median };
  await scoreQuery({ _id: customerId, workspace_id: workspaceId, status: { $nin: FROZEN } }, { settings: await loadSettings(workspaceId), median, now: new Date() }, summary);
  return summary;
}
