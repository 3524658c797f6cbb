// The billing-signal runner: walks every Stripe customer and subscription of a connection
// (products fetched once per run, since list expansion stops at four levels) and hands
// them to core/billing/apply.ts, which matches them to existing customers by domain.
// Webhooks use syncStripeCustomers to re-read just the affected Stripe customers, so the
// newest Stripe state always wins whatever order events arrive in.
import { Types } from 'mongoose';
import { Connection } from '../../models/connection.ts';
import { Customer } from '../../models/customer.ts';
import { Workspace } from '../../models/workspace.ts';
import { decryptJson } from '../../crypto.ts';
import { AppError } from '../../errors.ts';
import { domainFromEmail } from '../../domain.ts';
import type { SyncKind } from '../../models/sync.ts';
import type { Credentials } from '../connector.ts';
import { resolveFxRates } from '../../billing/fx.ts';
import { hasItemInScope, type BillingScope } from '../../billing/mrr.ts';
import { applyBilling, BillingLookup, emptyBillingCounts, personalDomainSet, skipReason, type BillingApplyContext, type BillingCounts, type BillingSourceCustomer } from '../../billing/apply.ts';
import { billingFor, customersBillingStripeId, noBilling, writeBilling } from '../../billing/store.ts';
import { createStripeClient, invoiceSubscriptionId, latestInvoices, listAll, loadProductNames, mapInvoice, mapSubscription, stripeCall, SUBSCRIPTION_EXPAND, unpaidInvoices, type Stripe } from './client.ts';

/** The connection fields the runner needs (a mongoose document or a lean object). */
export interface BillingConnection {
  _id: Types.ObjectId;
  workspace_id: Types.ObjectId;
  mode?: string | null;
  /** null once disconnected (erased) */
  credentials?: string | null;
  settings?: Record<string, any> | null;
  first_full_sync_at?: Date | null;
  role?: string | null;
}

export function stripeForConnection(conn: BillingConnection, opts?: Parameters<typeof createStripeClient>[1]): Stripe {
  if (!conn.credentials) throw new AppError('conflict', 'This Stripe connection is disconnected (its key was erased): connect Stripe again');
  const creds = decryptJson<Credentials>(conn.credentials);
  return createStripeClient(creds.accessToken, opts);
}

export function scopeOf(settings: Record<string, any> | null | undefined): BillingScope {
  const s = settings?.scope ?? settings?.subscription_scope ?? {};
  return { products: Array.isArray(s.products) ? s.products.map(String) : [], lookupKeys: Array.isArray(s.lookup_keys) ? s.lookup_keys.map(String) : [] };
}

async function applyContext(conn: BillingConnection, initial: boolean, actor: string): Promise<BillingApplyContext> {
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

export interface BillingWalkResult {
  counts: BillingCounts;
  problems: { recordId: string; message: string }[];
  /** validate/preview: what would be written */
  results: { stripe_customer_id: string; domain: string | null; outcome: string }[];
}

/**
 * Payment status is the customer's most recent invoice, so besides each subscription's
 * latest invoice the open and uncollectible ones count: a one-off invoice whose payment
 * failed is payment news too. A narrowed scope counts only its own subscriptions' invoices.
 */
function addUnpaidInvoice(c: BillingSourceCustomer, inv: Stripe.Invoice, scope: BillingScope): void {
  const sub = invoiceSubscriptionId(inv);
  const scoped = !!(scope.products?.length || scope.lookupKeys?.length);
  const counts = sub ? c.subscriptions.some((s) => s.id === sub) : !scoped;
  if (counts && !c.invoices.some((i) => i.id === inv.id)) c.invoices.push(mapInvoice(inv));
}

/** Reads the whole account: Stripe customers with their in-scope subscriptions and latest invoices. */
export async function readStripeBook(stripe: Stripe, scope: BillingScope, signal?: AbortSignal, onPage?: (done: number) => Promise<void>): Promise<{ billed: BillingSourceCustomer[]; unsubscribed: BillingSourceCustomer[] }> {
  const products = await loadProductNames(stripe, signal);
  const customers = new Map<string, BillingSourceCustomer>();
  let done = 0;
  for await (const page of listAll((p) => stripe.customers.list(p), signal)) {
    for (const c of page) {
      customers.set(c.id, { stripeCustomerId: c.id, email: c.email ?? null, name: c.name ?? null, domain: domainFromEmail(c.email), subscriptions: [], invoices: [] });
    }
    done += page.length;
    await onPage?.(done);
  }
  const raw = new Map<string, Stripe.Subscription[]>();
  for await (const page of listAll((p) => stripe.subscriptions.list({ ...p, status: 'all', expand: SUBSCRIPTION_EXPAND }), signal)) {
    for (const s of page) {
      const sub = mapSubscription(s, products);
      if (!hasItemInScope(sub, scope)) continue;
      const owner = customers.get(sub.customerId);
      if (!owner) continue; // deleted customer
      owner.subscriptions.push(sub);
      raw.set(sub.customerId, [...(raw.get(sub.customerId) ?? []), s]);
    }
    done += page.length;
    await onPage?.(done);
  }
  for (const [id, subs] of raw) customers.get(id)!.invoices = await latestInvoices(stripe, subs);
  for (const inv of await unpaidInvoices(stripe, {}, signal)) {
    const owner = customers.get(String(typeof inv.customer === 'string' ? inv.customer : inv.customer?.id));
    if (owner) addUnpaidInvoice(owner, inv, scope);
  }
  // Only Stripe customers with a subscription in scope carry billing.
  const all = [...customers.values()];
  return { billed: all.filter((c) => c.subscriptions.length > 0), unsubscribed: all.filter((c) => c.subscriptions.length === 0) };
}

/**
 * One billing run (validate, preview, full, incremental, reconcile). validate and preview
 * write nothing; the others attach billing to every matched customer and clear the billing
 * of customers this connection no longer bills.
 */
export async function runBillingWalk(
  conn: BillingConnection,
  kind: SyncKind,
  opts: { signal?: AbortSignal; progress?: (p: { counts: BillingCounts; done: number; total: number | null; phase: string }) => Promise<void> } = {},
): Promise<BillingWalkResult> {
  const stripe = stripeForConnection(conn);
  const ctx = await applyContext(conn, !conn.first_full_sync_at, `stripe:${String(conn._id)}`);
  const counts = emptyBillingCounts();
  const { billed: book, unsubscribed } = await readStripeBook(stripe, ctx.scope ?? {}, opts.signal, (done) => opts.progress?.({ counts, done, total: null, phase: 'reading Stripe' }) ?? Promise.resolve());
  const results: BillingWalkResult['results'] = [];
  const problems: BillingWalkResult['problems'] = [];
  if (kind === 'preview') return previewBilling(ctx, book);
  if (kind === 'validate') {
    // Listed, not counted: they simply carry no billing.
    for (const c of unsubscribed) problems.push({ recordId: c.stripeCustomerId, message: 'no subscription in the subscription scope' });
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
    return { counts, problems, results };
  }
  // Batches keep every Stripe customer of one domain together (merging needs them all).
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
  if (!opts.signal?.aborted) {
    await clearStaleBilling(conn, touched, lookup);
    const now = new Date();
    await Connection.updateOne({ _id: conn._id }, { $set: { last_full_sync_at: now, ...(conn.first_full_sync_at ? {} : { first_full_sync_at: now }) } });
  }
  return { counts, problems, results };
}

/**
 * Preview: the first 10 Stripe customers really sync (with the other Stripe customers of
 * their domains, which merging needs), and each gets its outcome: the Pivotal customer it
 * billed, or why not. It raises no payment signal and counts as no full sync.
 */
async function previewBilling(ctx: BillingApplyContext, book: BillingSourceCustomer[]): Promise<BillingWalkResult> {
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

/** One Stripe customer with its in-scope subscriptions and their latest invoices; null when deleted. */
export async function readStripeCustomer(stripe: Stripe, id: string, scope: BillingScope, products: Map<string, string>): Promise<BillingSourceCustomer | null> {
  const c = await stripeCall(() => stripe.customers.retrieve(id));
  if ((c as { deleted?: boolean }).deleted) return null;
  const cust = c as Stripe.Customer;
  const raw: Stripe.Subscription[] = [];
  for await (const page of listAll((p) => stripe.subscriptions.list({ ...p, customer: id, status: 'all', expand: SUBSCRIPTION_EXPAND }))) raw.push(...page);
  // Only in-scope subscriptions and their invoices, exactly as the walk reads them, so a
  // webhook and the next reconcile agree on the payment status.
  const kept = raw.map((s) => [s, mapSubscription(s, products)] as const).filter(([, sub]) => hasItemInScope(sub, scope));
  const out: BillingSourceCustomer = {
    stripeCustomerId: id, email: cust.email ?? null, name: cust.name ?? null, domain: domainFromEmail(cust.email),
    subscriptions: kept.map(([, sub]) => sub),
    invoices: await latestInvoices(stripe, kept.map(([s]) => s)),
  };
  for (const inv of await unpaidInvoices(stripe, { customer: id })) addUnpaidInvoice(out, inv, scope);
  return out;
}

/**
 * Re-reads these Stripe customers (and every other Stripe customer billed onto the same
 * Pivotal customers, so merged totals stay whole) and applies the current state.
 */
export async function syncStripeCustomers(conn: BillingConnection, ids: string[], actor = 'stripe'): Promise<BillingCounts> {
  const stripe = stripeForConnection(conn);
  const ctx = await applyContext(conn, false, actor);
  const products = await loadProductNames(stripe);
  const read = new Map<string, BillingSourceCustomer | null>();
  const readOne = async (id: string) => {
    if (!read.has(id)) read.set(id, await readStripeCustomer(stripe, id, ctx.scope ?? {}, products));
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
