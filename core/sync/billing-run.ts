// The engine's billing steps for Stripe billing reads (billing-signal connections, and
// Stripe as the customer source after its walk): validate, preview and the full apply of a
// book read by the connector, and the webhook path that re-reads a few Stripe customers.
// The engine (core/sync/engine.ts) owns the run around them: progress, counts, errors,
// first-sync stamps, pausing and failing. Writes are core/billing/apply.ts's.
import { Types } from 'mongoose';
import { Customer } from '../models/customer.ts';
import { Workspace } from '../models/workspace.ts';
import { resolveFxRates } from '../billing/fx.ts';
import { applyBilling, BillingLookup, emptyBillingCounts, personalDomainSet, skipReason, type BillingApplyContext, type BillingCounts, type BillingSourceCustomer } from '../billing/apply.ts';
import { billingFor, customersBillingStripeId, noBilling, writeBilling } from '../billing/store.ts';
import { scopeOf, type BillingConnection } from '../connectors/stripe/billing-reads.ts';
import type { BillingReads } from '../connectors/connector.ts';
import { getConnector } from '../connectors/registry.ts';
import { AppError } from '../errors.ts';
import { connectorContext, type ConnectionDoc } from './connections.ts';

export interface BillingWalkResult {
  counts: BillingCounts;
  problems: { recordId: string; message: string }[];
  /** validate/preview: what would be written */
  results: { stripe_customer_id: string; domain: string | null; outcome: string }[];
}

export type BillingProgress = (p: { counts: BillingCounts; done: number; total: number | null; phase: string }) => Promise<void>;

function billingReads(conn: { provider?: string | null }): BillingReads {
  const reads = getConnector(conn.provider ?? 'stripe').billing;
  if (!reads) throw new AppError('config', `${conn.provider} connections carry no billing`);
  return reads;
}

/**
 * One billing step of a run: the connector reads the book, then validate and preview
 * write nothing, and full, incremental and reconcile apply it.
 */
export async function billingWalk(conn: ConnectionDoc, kind: string, opts: { signal?: AbortSignal; progress?: BillingProgress } = {}): Promise<BillingWalkResult> {
  const ctx = await billingContext(conn, !conn.first_full_sync_at, `stripe:${String(conn._id)}`);
  const counts = emptyBillingCounts();
  const onPage = (done: number) => opts.progress?.({ counts, done, total: null, phase: 'reading Stripe' }) ?? Promise.resolve();
  const book = await billingReads(conn).readBook(connectorContext(conn), ctx.scope ?? {}, { signal: opts.signal, onPage });
  if (kind === 'preview') return previewBilling(ctx, book.billed);
  if (kind === 'validate') return validateBilling(ctx, book.billed, book.unsubscribed);
  return applyBillingBook(ctx, conn, book.billed, opts);
}

export async function billingContext(conn: BillingConnection, initial: boolean, actor: string): Promise<BillingApplyContext> {
  const ws = await Workspace.findById(conn.workspace_id, { settings: 1 }).lean();
  return {
    workspaceId: conn.workspace_id,
    connectionId: conn._id,
    livemode: conn.mode !== 'test',
    rates: resolveFxRates((ws?.settings as any)?.fx_rates_usd ?? (conn.settings?.fx_rates_usd as Record<string, unknown> | undefined)),
    scope: scopeOf(conn.settings),
    matchPersonalEmails: conn.settings?.match_personal_emails === true,
    personalDomains: personalDomainSet((ws?.settings as any)?.personal_domains),
    now: Math.floor(Date.now() / 1000),
    initial,
    actor,
    linkToSource: conn.role === 'customer_source',
  };
}


/** Validate: writes nothing; lists what a full run would skip or find ambiguous. */
export function validateBilling(ctx: BillingApplyContext, book: BillingSourceCustomer[], unsubscribed: BillingSourceCustomer[]): BillingWalkResult {
  const counts = emptyBillingCounts();
  // Listed, not counted: they simply carry no billing.
  const problems: BillingWalkResult['problems'] = unsubscribed.map((c) => ({ recordId: c.stripeCustomerId, message: 'no subscription in the subscription scope' }));
  const seen = new Map<string, number>();
  for (const c of book) if (c.domain) seen.set(c.domain, (seen.get(c.domain) ?? 0) + 1);
  for (const c of book) {
    const why = skipReason(c, ctx);
    if (why) {
      counts.skipped++;
      problems.push({ recordId: c.stripeCustomerId, message: why });
    } else if ((seen.get(c.domain!) ?? 0) > 1) {
      counts.ambiguous++;
      problems.push({ recordId: c.stripeCustomerId, message: `${seen.get(c.domain!)} Stripe customers share the domain ${c.domain}` });
    }
  }
  return { counts, problems, results: [] };
}

/**
 * A full, incremental or reconcile run: attaches billing to every matched customer, in
 * batches that keep every Stripe customer of one domain together (merging needs them all),
 * then clears the billing of customers this connection no longer bills (unless interrupted).
 */
export async function applyBillingBook(ctx: BillingApplyContext, conn: BillingConnection, book: BillingSourceCustomer[], opts: { signal?: AbortSignal; progress?: BillingProgress } = {}): Promise<BillingWalkResult> {
  const counts = emptyBillingCounts();
  const problems: BillingWalkResult['problems'] = [];
  const byDomain = new Map<string, BillingSourceCustomer[]>();
  const noDomain: BillingSourceCustomer[] = [];
  for (const c of book) {
    if (!c.domain) noDomain.push(c);
    else byDomain.set(c.domain, [...(byDomain.get(c.domain) ?? []), c]);
  }
  const groups = [...byDomain.values()];
  const touched = new Set<string>();
  const BATCH = 1000;
  let done = 0;
  const lookup = await BillingLookup.preload(ctx);
  for (let i = 0; i < groups.length || (i === 0 && noDomain.length); i += BATCH) {
    if (opts.signal?.aborted) break;
    const batch = groups.slice(i, i + BATCH).flat();
    if (i === 0) batch.push(...noDomain);
    const r = await applyBilling(ctx, batch, { lookup });
    for (const k of Object.keys(counts) as (keyof BillingCounts)[]) counts[k] += r.counts[k];
    problems.push(...r.problems);
    for (const id of r.touched) touched.add(String(id));
    done += batch.length;
    await opts.progress?.({ counts, done, total: book.length, phase: 'matching customers' });
  }
  if (!opts.signal?.aborted) await clearStaleBilling(conn, touched, lookup);
  return { counts, problems, results: [] };
}

/**
 * Preview: the first 10 Stripe customers really sync (with the other Stripe customers of
 * their domains, which merging needs), and each gets its outcome: the Pivotal customer it
 * billed, or why not. It raises no payment signal and counts as no full sync.
 */
export async function previewBilling(ctx: BillingApplyContext, book: BillingSourceCustomer[]): Promise<BillingWalkResult> {
  const first = book.slice(0, 10);
  const domains = new Set(first.map((c) => c.domain).filter((d): d is string => !!d));
  const batch = [...first, ...book.slice(10).filter((c) => c.domain && domains.has(c.domain))];
  const r = await applyBilling({ ...ctx, initial: true }, batch);
  const billedTo = new Map<string, { id: string; name: string }>();
  const written = r.touched.length ? await Customer.find({ _id: { $in: r.touched } }, { name: 1 }).lean() : [];
  for (const [id, b] of await billingFor(written.map((c) => c._id))) {
    const name = written.find((c) => String(c._id) === id)?.name ?? id;
    for (const sid of b.stripe_customer_ids) billedTo.set(sid, { id, name });
  }
  const problemOf = new Map(r.problems.map((p) => [p.recordId, p.message]));
  const results = first.map((c) => {
    const to = billedTo.get(c.stripeCustomerId);
    const outcome = to ? `matched ${to.name}` : (skipReason(c, ctx) ?? problemOf.get(c.stripeCustomerId) ?? 'unmatched: no Pivotal customer has this domain');
    return { stripe_customer_id: c.stripeCustomerId, domain: c.domain, outcome, ...(to ? { customer_id: to.id } : {}) };
  });
  return { counts: r.counts, problems: r.problems, results };
}

/** Customers this connection billed before but no longer matches lose their billing fields. */
async function clearStaleBilling(conn: BillingConnection, touched: Set<string>, lookup: BillingLookup): Promise<void> {
  const billed = lookup.billedBy(conn._id);
  await clearBilling(conn.workspace_id, billed.filter((id) => !touched.has(id)).map((id) => new Types.ObjectId(id)));
}

async function clearBilling(workspaceId: Types.ObjectId, stale: Types.ObjectId[]): Promise<void> {
  if (!stale.length) return;
  const now = new Date();
  await writeBilling(stale.map((customerId) => ({ workspaceId, customerId, billing: { ...noBilling(), synced_at: now } })));
}

/**
 * Re-reads these Stripe customers (and every other Stripe customer billed onto the same
 * Pivotal customers, so merged totals stay whole) and applies the current state.
 */
export async function syncStripeCustomers(conn: ConnectionDoc, ids: string[], actor = 'stripe'): Promise<BillingCounts> {
  const ctx = await billingContext(conn, false, actor);
  const readCustomer = await billingReads(conn).customerReader(connectorContext(conn), ctx.scope ?? {});
  const read = new Map<string, BillingSourceCustomer | null>();
  const readOne = async (id: string) => {
    if (!read.has(id)) read.set(id, await readCustomer(id));
    return read.get(id)!;
  };
  const domains = new Set<string>();
  for (const id of ids) {
    const c = await readOne(id);
    if (c?.domain) domains.add(c.domain);
    // Wherever this Stripe customer billed before (its email may have moved or it was deleted).
    const billedBefore = await customersBillingStripeId(conn.workspace_id, id);
    const before = billedBefore.length ? await Customer.find({ _id: { $in: billedBefore.map((b) => new Types.ObjectId(b)) } }, { domain: 1 }).lean() : [];
    for (const b of before) if (b.domain) domains.add(b.domain);
  }
  const counts = emptyBillingCounts();
  for (const domain of domains) {
    const related = new Set<string>();
    const customers = await Customer.find({ workspace_id: conn.workspace_id, domain }, { _id: 1 }).lean();
    const billing = await billingFor(customers.map((cu) => cu._id));
    for (const b of billing.values()) for (const sid of b.stripe_customer_ids) related.add(sid);
    for (const id of ids) related.add(id);
    const group: BillingSourceCustomer[] = [];
    for (const sid of related) {
      const c = await readOne(sid);
      if (c && c.domain === domain && c.subscriptions.length) group.push(c);
    }
    const r = group.length ? await applyBilling(ctx, group) : { counts: emptyBillingCounts(), touched: [] };
    for (const k of Object.keys(counts) as (keyof BillingCounts)[]) counts[k] += r.counts[k];
    // A customer none of whose Stripe customers bills any more loses the billing fields.
    const kept = new Set(r.touched.map(String));
    const gone = customers.filter((cu) => !kept.has(String(cu._id)) && String(billing.get(String(cu._id))?.stripe_connection_id ?? '') === String(conn._id));
    await clearBilling(conn.workspace_id, gone.map((cu) => cu._id));
  }
  return counts;
}
