// Attaches billing truth to existing Pivotal customers, matched by email domain. Used by
// the full/reconcile walk and by webhooks alike, so both follow one rule set: personal
// domains skipped (unless "Match personal emails"), never a new customer, several Stripe
// customers on one domain merged and recorded as an AmbiguousMatch until an admin picks
// a winner or splits the customer, and a payment-failing signal once per transition.
import { Types } from 'mongoose';
import { AmbiguousMatch, SourceLink } from '../models/sync.ts';
import { Connection } from '../models/connection.ts';
import { Customer, type PaymentStatus } from '../models/customer.ts';
import { DEFAULT_PERSONAL_DOMAINS } from '../models/workspace.ts';
import { emitDomainEvent } from '../events/emit.ts';
import { isDuplicateKeyError } from '../errors.ts';
import { computeBilling, subscriptionMrrCents, type BillingInvoice, type BillingScope, type BillingSubscription } from './mrr.ts';
import { MissingFxRateError, type FxRates } from './fx.ts';
import { billingFor, noBilling, toView, writeBilling as storeBilling, type BillingView } from './store.ts';
import { connectionActor, recordActivity, type ActivityInput } from '../activity/activity.ts';

/** One Stripe customer with everything its billing fields are computed from. */
export interface BillingSourceCustomer {
  stripeCustomerId: string;
  email: string | null;
  name: string | null;
  /** normalised email domain, null when there is none */
  domain: string | null;
  subscriptions: BillingSubscription[];
  invoices: BillingInvoice[];
}

export interface BillingApplyContext {
  workspaceId: Types.ObjectId;
  connectionId: Types.ObjectId;
  livemode: boolean;
  rates: FxRates;
  scope?: BillingScope;
  matchPersonalEmails: boolean;
  personalDomains: Set<string>;
  now: number;
  /** first walk of this connection: states found are not "transitions" and raise no signal */
  initial: boolean;
  actor: string;
  /**
   * Stripe as the customer source: each Stripe customer bills onto the Pivotal customer
   * synced from it (its SourceLink), not onto a domain match; personal domains and
   * ambiguity do not apply.
   */
  linkToSource?: boolean;
}

export interface BillingCounts {
  matched: number;
  unmatched: number;
  skipped: number;
  ambiguous: number;
  updated: number;
  unchanged: number;
  errors: number;
}

export const emptyBillingCounts = (): BillingCounts => ({ matched: 0, unmatched: 0, skipped: 0, ambiguous: 0, updated: 0, unchanged: 0, errors: 0 });

export interface BillingProblem {
  recordId: string;
  message: string;
}

export function personalDomainSet(workspaceList: string[] | null | undefined): Set<string> {
  return new Set((workspaceList?.length ? workspaceList : DEFAULT_PERSONAL_DOMAINS).map((d) => d.toLowerCase()));
}

/** Why a Stripe customer cannot be matched, or null when it can. */
export function skipReason(c: BillingSourceCustomer, ctx: Pick<BillingApplyContext, 'matchPersonalEmails' | 'personalDomains'>): string | null {
  if (!c.domain) return 'no email domain';
  if (!ctx.matchPersonalEmails && ctx.personalDomains.has(c.domain)) return `personal email domain ${c.domain}`;
  return null;
}

type LeanCustomer = { _id: Types.ObjectId; name: string; domain: string | null };

const CUSTOMER_FIELDS = { _id: 1, name: 1, domain: 1 } as const;

/**
 * What applying billing reads from the database: customers by domain (or by their Stripe
 * source link), their current billing and the domain's ambiguity decisions. A webhook asks
 * for just its few domains; a whole walk preloads the workspace's customers once (a few
 * indexed reads instead of one round trip per page).
 */
type Preloaded = { byDomain: Map<string, LeanCustomer[]>; byId: Map<string, LeanCustomer>; billing: Map<string, BillingView>; ambiguities: Map<string, any>; links: Map<string, string> | null };

export class BillingLookup {
  private readonly ctx: Pick<BillingApplyContext, 'workspaceId' | 'connectionId'>;
  private readonly preloaded: Preloaded | null;

  private constructor(ctx: Pick<BillingApplyContext, 'workspaceId' | 'connectionId'>, preloaded: Preloaded | null) {
    this.ctx = ctx;
    this.preloaded = preloaded;
  }

  /** Queries per call (webhooks, a handful of customers). */
  static live(ctx: Pick<BillingApplyContext, 'workspaceId' | 'connectionId'>): BillingLookup {
    return new BillingLookup(ctx, null);
  }

  /** Everything of the workspace and connection, read once (a whole walk). */
  static async preload(ctx: Pick<BillingApplyContext, 'workspaceId' | 'connectionId' | 'linkToSource'>): Promise<BillingLookup> {
    const [customers, ambiguities, links] = await Promise.all([
      Customer.find({ workspace_id: ctx.workspaceId, status: { $ne: 'archived' } }, { ...CUSTOMER_FIELDS, billing: 1 }).lean() as Promise<(LeanCustomer & { billing?: BillingView })[]>,
      AmbiguousMatch.find({ connection_id: ctx.connectionId }).lean(),
      ctx.linkToSource ? SourceLink.find({ connection_id: ctx.connectionId, target_type: 'customer' }, { external_id: 1, target_id: 1 }).lean() : Promise.resolve(null),
    ]);
    const byDomain = new Map<string, LeanCustomer[]>();
    const billing = new Map(customers.map((c) => [String(c._id), toView(c.billing)]));
    for (const c of customers) {
      delete c.billing;
      if (c.domain) byDomain.set(c.domain, [...(byDomain.get(c.domain) ?? []), c]);
    }
    return new BillingLookup(ctx, {
      byDomain,
      byId: new Map(customers.map((c) => [String(c._id), c])),
      billing,
      ambiguities: new Map(ambiguities.map((a) => [a.domain as string, a])),
      links: links ? new Map(links.map((l) => [l.external_id as string, String(l.target_id)])) : null,
    });
  }

  async customersByDomain(domains: string[]): Promise<Map<string, LeanCustomer[]>> {
    if (this.preloaded) return new Map(domains.filter((d) => this.preloaded!.byDomain.has(d)).map((d) => [d, this.preloaded!.byDomain.get(d)!]));
    return customersByDomain(this.ctx.workspaceId, domains);
  }

  async ambiguitiesByDomain(domains: string[]): Promise<Map<string, any>> {
    if (this.preloaded) return new Map(domains.filter((d) => this.preloaded!.ambiguities.has(d)).map((d) => [d, this.preloaded!.ambiguities.get(d)]));
    const out = new Map<string, any>();
    for (let i = 0; i < domains.length; i += 500) {
      for (const a of await AmbiguousMatch.find({ connection_id: this.ctx.connectionId, domain: { $in: domains.slice(i, i + 500) } }).lean()) out.set(a.domain, a);
    }
    return out;
  }

  /** Stripe customer id → the Pivotal customer synced from it (Stripe as the source). */
  async linkedCustomers(stripeIds: string[]): Promise<Map<string, LeanCustomer>> {
    const out = new Map<string, LeanCustomer>();
    if (this.preloaded?.links) {
      for (const id of stripeIds) {
        const c = this.preloaded.byId.get(this.preloaded.links.get(id) ?? '');
        if (c) out.set(id, c);
      }
      return out;
    }
    const links = await SourceLink.find({ connection_id: this.ctx.connectionId, target_type: 'customer', external_id: { $in: stripeIds } }, { external_id: 1, target_id: 1 }).lean();
    const found = (await Customer.find({ _id: { $in: links.map((l) => l.target_id) }, status: { $ne: 'archived' } }, CUSTOMER_FIELDS).lean()) as LeanCustomer[];
    const byId = new Map(found.map((c) => [String(c._id), c]));
    for (const l of links) {
      const c = byId.get(String(l.target_id));
      if (c) out.set(l.external_id as string, c);
    }
    return out;
  }

  async billingOf(customerIds: Types.ObjectId[]): Promise<Map<string, BillingView>> {
    if (this.preloaded) return new Map(customerIds.map((id) => [String(id), this.preloaded!.billing.get(String(id)) ?? noBilling()]));
    return billingFor(customerIds);
  }

  private others: Promise<Map<string, boolean>> | null = null;
  /** The workspace's other Stripe connections still in use → whether each is live mode. */
  otherStripeConnections(): Promise<Map<string, boolean>> {
    this.others ??= Connection.find({ workspace_id: this.ctx.workspaceId, provider: 'stripe', state: { $ne: 'disconnected' } }, { _id: 1, mode: 1 })
      .lean()
      .then((rows) => new Map(rows.filter((c) => String(c._id) !== String(this.ctx.connectionId)).map((c) => [String(c._id), c.mode !== 'test'])));
    return this.others;
  }

  /** Keeps a preloaded lookup current after a write. */
  remember(customerId: Types.ObjectId, billing: BillingView): void {
    this.preloaded?.billing.set(String(customerId), billing);
  }

  /** Customers whose current billing comes from this connection (a preloaded lookup: a whole walk). */
  billedBy(connectionId: Types.ObjectId): string[] {
    if (!this.preloaded) throw new Error('billedBy needs a preloaded lookup');
    return [...this.preloaded.billing].filter(([, b]) => String(b.stripe_connection_id ?? '') === String(connectionId)).map(([id]) => id);
  }
}

/** Pivotal customers of these domains (batched equality on workspace_id + domain). */
export async function customersByDomain(workspaceId: Types.ObjectId, domains: string[]): Promise<Map<string, LeanCustomer[]>> {
  const out = new Map<string, LeanCustomer[]>();
  for (let i = 0; i < domains.length; i += 500) {
    const batch = domains.slice(i, i + 500);
    const found = (await Customer.find({ workspace_id: workspaceId, domain: { $in: batch }, status: { $ne: 'archived' } }, CUSTOMER_FIELDS).lean()) as LeanCustomer[];
    for (const c of found) {
      const list = out.get(c.domain!) ?? [];
      list.push(c);
      out.set(c.domain!, list);
    }
  }
  return out;
}

interface PendingWrite {
  customer: LeanCustomer;
  billing: ReturnType<typeof computeBilling>;
  stripeIds: string[];
}

/**
 * Applies one batch of Stripe customers (grouped by domain; every Stripe customer of a
 * domain must be in the same batch). Returns the counts and per-record problems.
 */
export async function applyBilling(
  ctx: BillingApplyContext,
  sources: BillingSourceCustomer[],
  opts: { lookup?: BillingLookup } = {},
): Promise<{ counts: BillingCounts; problems: BillingProblem[]; touched: Types.ObjectId[] }> {
  const lookup = opts.lookup ?? BillingLookup.live(ctx);
  const counts = emptyBillingCounts();
  const problems: BillingProblem[] = [];
  const writes: PendingWrite[] = [];
  const compute = (list: BillingSourceCustomer[]) =>
    computeBilling({ subscriptions: list.flatMap((s) => s.subscriptions), invoices: list.flatMap((s) => s.invoices), rates: ctx.rates, now: ctx.now, scope: ctx.scope });
  // Customers whose billing could not be computed this time (an amount in a currency no FX
  // table knows) keep what they had: they count as touched, so nothing clears them.
  const kept: Types.ObjectId[] = [];
  const cannotCompute = (e: unknown, list: BillingSourceCustomer[], customerIds: Types.ObjectId[]) => {
    if (!(e instanceof MissingFxRateError)) throw e;
    counts.errors += list.length;
    for (const s of list) problems.push({ recordId: s.stripeCustomerId, message: e.message });
    kept.push(...customerIds);
  };
  if (ctx.linkToSource) {
    const linked = await lookup.linkedCustomers(sources.map((s) => s.stripeCustomerId));
    for (const s of sources) {
      const customer = linked.get(s.stripeCustomerId);
      if (!customer) {
        counts.unmatched++;
        continue;
      }
      try {
        writes.push({ customer, billing: compute([s]), stripeIds: [s.stripeCustomerId] });
        counts.matched++;
      } catch (e) {
        cannotCompute(e, [s], [customer._id]);
      }
    }
    return withKept(await writeBilling(ctx, lookup, writes, counts, problems), kept);
  }
  const byDomain = new Map<string, BillingSourceCustomer[]>();
  for (const s of sources) {
    if (skipReason(s, ctx)) {
      counts.skipped++;
      continue;
    }
    const list = byDomain.get(s.domain!) ?? [];
    list.push(s);
    byDomain.set(s.domain!, list);
  }
  const domains = [...byDomain.keys()];
  const [customers, ambiguities] = await Promise.all([lookup.customersByDomain(domains), lookup.ambiguitiesByDomain(domains)]);
  // The Stripe customer shown as "the" stripe_customer_id: the biggest payer, then the oldest id.
  const rank = (list: BillingSourceCustomer[]) =>
    [...list].sort((a, b) => mrrOf(b, ctx) - mrrOf(a, ctx) || (a.stripeCustomerId < b.stripeCustomerId ? -1 : 1)).map((s) => s.stripeCustomerId);

  for (const [domain, list] of byDomain) {
    const matches = customers.get(domain) ?? [];
    if (!matches.length) {
      counts.unmatched += list.length;
      continue;
    }
    const before = { ...counts };
    const pending = writes.length;
    try {
      await applyDomain(domain, list, matches);
    } catch (e) {
      Object.assign(counts, before);
      writes.length = pending;
      cannotCompute(e, list, matches.map((m) => m._id));
    }
  }

  return withKept(await writeBilling(ctx, lookup, writes, counts, problems), kept);

  /** The Stripe customers of one domain onto its Pivotal customer(s). */
  async function applyDomain(domain: string, list: BillingSourceCustomer[], matches: LeanCustomer[]): Promise<void> {
    const amb = ambiguities.get(domain);
    const resolution = amb?.status === 'resolved' ? (amb.resolution as { winner?: string; split?: boolean; assignments?: Record<string, string> }) : null;
    if (resolution?.split && resolution.assignments) {
      // Each Stripe customer bills onto the Pivotal customer the split gave it.
      const groups = new Map<string, BillingSourceCustomer[]>();
      for (const s of list) {
        const target = resolution.assignments[s.stripeCustomerId] ?? String(amb.customer_id);
        groups.set(target, [...(groups.get(target) ?? []), s]);
      }
      for (const [target, group] of groups) {
        const customer = matches.find((m) => String(m._id) === target);
        if (!customer) {
          counts.unmatched += group.length;
          continue;
        }
        counts.matched += group.length;
        writes.push({ customer, billing: compute(group), stripeIds: rank(group) });
      }
      return;
    }
    if (matches.length > 1) {
      counts.errors += list.length;
      for (const s of list) problems.push({ recordId: s.stripeCustomerId, message: `The domain ${domain} matches ${matches.length} Pivotal customers; link one before billing can attach` });
      return;
    }
    const customer = matches[0]!;
    let effective = list;
    if (list.length > 1 || (amb && amb.status === 'open')) {
      if (resolution?.winner) {
        const winner = list.filter((s) => s.stripeCustomerId === resolution.winner);
        counts.skipped += list.length - winner.length;
        effective = winner.length ? winner : list;
      } else if (list.length > 1) {
        counts.ambiguous++;
        await recordAmbiguity(ctx, domain, customer._id, list);
      }
    }
    counts.matched += effective.length;
    writes.push({ customer, billing: compute(effective), stripeIds: rank(effective) });
  }
}

function withKept<T extends { touched: Types.ObjectId[] }>(result: T, kept: Types.ObjectId[]): T {
  if (kept.length) result.touched.push(...kept);
  return result;
}

/** Writes the computed billing of matched customers (only what changed) and raises signals. */
async function writeBilling(
  ctx: BillingApplyContext,
  lookup: BillingLookup,
  writes: PendingWrite[],
  counts: BillingCounts,
  problems: BillingProblem[],
): Promise<{ counts: BillingCounts; problems: BillingProblem[]; touched: Types.ObjectId[] }> {
  const touched: Types.ObjectId[] = [];
  const changed: { workspaceId: Types.ObjectId; customerId: Types.ObjectId; billing: BillingView }[] = [];
  const signals: (() => Promise<unknown>)[] = [];
  const history: ActivityInput[] = [];
  const current = await lookup.billingOf(writes.map((w) => w.customer._id));
  const others = await lookup.otherStripeConnections();
  for (const w of writes) {
    const prev = current.get(String(w.customer._id)) ?? noBilling();
    // Another Stripe connection of the workspace already bills this customer: live mode
    // beats test mode, and between equals the one that billed it first keeps it, so two
    // connections never take turns rewriting a customer's billing.
    const owner = prev.stripe_connection_id ? others.get(String(prev.stripe_connection_id)) : undefined;
    if (owner !== undefined && !(ctx.livemode && !owner)) {
      counts.matched -= w.stripeIds.length;
      counts.skipped += w.stripeIds.length;
      continue;
    }
    touched.push(w.customer._id);
    const next: BillingView = {
      mrr: w.billing.mrr,
      plan: w.billing.plan,
      payment_status: w.billing.payment_status,
      billing_started_at: w.billing.billing_started_at,
      stripe_customer_id: w.stripeIds[0] ?? null,
      stripe_customer_ids: w.stripeIds,
      stripe_livemode: ctx.livemode,
      stripe_connection_id: ctx.connectionId,
      payment_invoice_id: w.billing.payment_invoice_id,
      synced_at: new Date(ctx.now * 1000),
    };
    if (sameBilling(prev, next)) {
      counts.unchanged++;
    } else {
      counts.updated++;
      changed.push({ workspaceId: ctx.workspaceId, customerId: w.customer._id, billing: next });
    }
    const prevStatus = prev.payment_status;
    const failingNow = next.payment_status === 'failing' || next.payment_status === 'past_due';
    const wasFailing = prevStatus === 'failing' || prevStatus === 'past_due';
    const known = !ctx.initial || prev.synced_at != null;
    if (prev.synced_at != null) history.push(...billingChanges(ctx, w.customer._id, prev, next));
    if (failingNow && known && (!wasFailing || prev.payment_invoice_id !== next.payment_invoice_id)) {
      signals.push(() => raisePaymentFailing(ctx, w.customer, w.billing, prevStatus, next.stripe_customer_id));
    }
  }
  await storeBilling(changed);
  await recordActivity(history); // one insertMany per page
  for (const c of changed) lookup.remember(c.customerId, c.billing);
  for (const s of signals) await s();
  return { counts, problems, touched };
}

const HISTORY_FIELDS = ['mrr', 'plan', 'payment_status'] as const;

/**
 * Activity rows for the billing fields people read (MRR, plan, payment status) that changed,
 * attributed to the Stripe connection. A customer's first billing (nothing synced before)
 * records none: a first walk of 20,000 customers would otherwise write 60,000 rows of "was nothing".
 */
function billingChanges(ctx: BillingApplyContext, customerId: Types.ObjectId, prev: BillingView, next: BillingView): ActivityInput[] {
  const actor = connectionActor({ provider: 'stripe', _id: ctx.connectionId });
  return HISTORY_FIELDS.filter((f) => prev[f] !== next[f]).map((field) => ({
    workspaceId: ctx.workspaceId, customerId, actor, actorType: 'sync' as const, eventType: 'field_changed', field: `billing.${field}`, oldValue: prev[field], newValue: next[field],
  }));
}

/** Same billing apart from when it was synced. */
export function sameBilling(a: BillingView, b: BillingView): boolean {
  const time = (d: Date | null) => (d ? new Date(d).getTime() : null);
  return (
    a.mrr === b.mrr && a.plan === b.plan && a.payment_status === b.payment_status && time(a.billing_started_at) === time(b.billing_started_at) &&
    a.stripe_customer_id === b.stripe_customer_id && JSON.stringify(a.stripe_customer_ids) === JSON.stringify(b.stripe_customer_ids) &&
    a.stripe_livemode === b.stripe_livemode && String(a.stripe_connection_id ?? '') === String(b.stripe_connection_id ?? '') && a.payment_invoice_id === b.payment_invoice_id
  );
}

function mrrOf(s: BillingSourceCustomer, ctx: BillingApplyContext): number {
  let m = 0;
  for (const sub of s.subscriptions) m += subscriptionMrrCents(sub, ctx.rates, { now: ctx.now, scope: ctx.scope });
  return m;
}

async function recordAmbiguity(ctx: BillingApplyContext, domain: string, customerId: Types.ObjectId, list: BillingSourceCustomer[]): Promise<void> {
  const candidates = list.map((s) => ({ stripe_customer_id: s.stripeCustomerId, email: s.email, name: s.name, mrr: Math.round(mrrOf(s, ctx)) }));
  try {
    await AmbiguousMatch.create({ workspace_id: ctx.workspaceId, connection_id: ctx.connectionId, domain, customer_id: customerId, candidates });
  } catch (e) {
    if (!isDuplicateKeyError(e)) throw e;
    // Already listed: keep the candidate list current (last writer wins, which is fine here).
    await AmbiguousMatch.updateOne({ connection_id: ctx.connectionId, domain, status: 'open' }, { $set: { candidates, customer_id: customerId } });
  }
}

/**
 * The payment-failing signal. The dedupe key names the invoice (and the status it put the
 * customer in), so duplicate or replayed webhooks, a reconcile after a webhook, or two
 * workers all produce one signal per transition.
 */
async function raisePaymentFailing(ctx: BillingApplyContext, customer: LeanCustomer, billing: ReturnType<typeof computeBilling>, previous: PaymentStatus, stripeCustomerId: string | null): Promise<void> {
  const key = `payment_failed:${String(customer._id)}:${billing.payment_invoice_id ?? 'none'}`;
  await emitDomainEvent({
    workspaceId: ctx.workspaceId,
    customerId: customer._id,
    type: 'customer.payment_failed',
    dedupeKey: key,
    data: { payment_status: billing.payment_status, invoice_id: billing.payment_invoice_id, mrr: billing.mrr, plan: billing.plan, stripe_customer_id: stripeCustomerId, livemode: ctx.livemode },
    previous: { payment_status: previous },
    actor: ctx.actor,
  });
}
