// Attaches billing truth to existing Pivotal customers, matched by email domain. Used by
// the full/reconcile walk and by webhooks alike, so both follow one rule set: personal
// domains skipped (unless "Match personal emails"), never a new customer, several Stripe
// customers on one domain merged and recorded as an AmbiguousMatch until an admin picks
// a winner or splits the customer, and a payment-failing signal once per transition.
import { Types } from 'mongoose';
import { AmbiguousMatch, SourceLink } from '../models/sync.ts';
import { Customer, type PaymentStatus } from '../models/customer.ts';
import { DEFAULT_PERSONAL_DOMAINS } from '../models/workspace.ts';
import { emitDomainEvent } from '../events/emit.ts';
import { isDuplicateKeyError } from '../errors.ts';
import { computeBilling, subscriptionMrrCents, type BillingInvoice, type BillingScope, type BillingSubscription } from './mrr.ts';
import type { FxRates } from './fx.ts';

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

type LeanCustomer = { _id: Types.ObjectId; name: string; domain: string | null; billing?: Record<string, any> | null };

const CUSTOMER_FIELDS = { _id: 1, name: 1, domain: 1, billing: 1 } as const;

/** Pivotal customers of these domains (indexed equality on workspace_id + domain, batched). */
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

/** Open or resolved ambiguity records of these domains. */
async function ambiguitiesByDomain(connectionId: Types.ObjectId, domains: string[]): Promise<Map<string, any>> {
  const out = new Map<string, any>();
  for (let i = 0; i < domains.length; i += 500) {
    const found = await AmbiguousMatch.find({ connection_id: connectionId, domain: { $in: domains.slice(i, i + 500) } }).lean();
    for (const a of found) out.set(a.domain, a);
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
export async function applyBilling(ctx: BillingApplyContext, sources: BillingSourceCustomer[]): Promise<{ counts: BillingCounts; problems: BillingProblem[]; touched: Types.ObjectId[] }> {
  const counts = emptyBillingCounts();
  const problems: BillingProblem[] = [];
  const writes: PendingWrite[] = [];
  const compute = (list: BillingSourceCustomer[]) =>
    computeBilling({ subscriptions: list.flatMap((s) => s.subscriptions), invoices: list.flatMap((s) => s.invoices), rates: ctx.rates, now: ctx.now, scope: ctx.scope });
  if (ctx.linkToSource) {
    const links = await SourceLink.find({ connection_id: ctx.connectionId, target_type: 'customer', external_id: { $in: sources.map((s) => s.stripeCustomerId) } }, { external_id: 1, target_id: 1 }).lean();
    const linked = new Map(links.map((l) => [l.external_id, String(l.target_id)]));
    const found = (await Customer.find({ _id: { $in: links.map((l) => l.target_id) }, status: { $ne: 'archived' } }, CUSTOMER_FIELDS).lean()) as LeanCustomer[];
    const byId = new Map(found.map((c) => [String(c._id), c]));
    for (const s of sources) {
      const customer = byId.get(linked.get(s.stripeCustomerId) ?? '');
      if (!customer) {
        counts.unmatched++;
        continue;
      }
      counts.matched++;
      writes.push({ customer, billing: compute([s]), stripeIds: [s.stripeCustomerId] });
    }
    return writeBilling(ctx, writes, counts, problems);
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
  const [customers, ambiguities] = await Promise.all([customersByDomain(ctx.workspaceId, domains), ambiguitiesByDomain(ctx.connectionId, domains)]);
  // The Stripe customer shown as "the" stripe_customer_id: the biggest payer, then the oldest id.
  const rank = (list: BillingSourceCustomer[]) =>
    [...list].sort((a, b) => mrrOf(b, ctx) - mrrOf(a, ctx) || (a.stripeCustomerId < b.stripeCustomerId ? -1 : 1)).map((s) => s.stripeCustomerId);

  for (const [domain, list] of byDomain) {
    const matches = customers.get(domain) ?? [];
    const amb = ambiguities.get(domain);
    if (!matches.length) {
      counts.unmatched += list.length;
      continue;
    }
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
      continue;
    }
    if (matches.length > 1) {
      counts.errors += list.length;
      for (const s of list) problems.push({ recordId: s.stripeCustomerId, message: `The domain ${domain} matches ${matches.length} Pivotal customers; link one before billing can attach` });
      continue;
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

  return writeBilling(ctx, writes, counts, problems);
}

/** Writes the computed billing of matched customers (only what changed) and raises signals. */
async function writeBilling(ctx: BillingApplyContext, writes: PendingWrite[], counts: BillingCounts, problems: BillingProblem[]): Promise<{ counts: BillingCounts; problems: BillingProblem[]; touched: Types.ObjectId[] }> {
  const touched: Types.ObjectId[] = [];
  const ops: any[] = [];
  const signals: (() => Promise<unknown>)[] = [];
  for (const w of writes) {
    touched.push(w.customer._id);
    const prev = w.customer.billing ?? {};
    const next = {
      'billing.mrr': w.billing.mrr,
      'billing.plan': w.billing.plan,
      'billing.payment_status': w.billing.payment_status,
      'billing.billing_started_at': w.billing.billing_started_at,
      'billing.stripe_customer_id': w.stripeIds[0] ?? null,
      'billing.stripe_customer_ids': w.stripeIds,
      'billing.stripe_livemode': ctx.livemode,
      'billing.stripe_connection_id': ctx.connectionId,
      'billing.payment_invoice_id': w.billing.payment_invoice_id,
    };
    const same =
      prev.mrr === next['billing.mrr'] && (prev.plan ?? null) === next['billing.plan'] && prev.payment_status === next['billing.payment_status'] &&
      (prev.billing_started_at ? new Date(prev.billing_started_at).getTime() : null) === (next['billing.billing_started_at']?.getTime() ?? null) &&
      (prev.stripe_customer_id ?? null) === next['billing.stripe_customer_id'] && JSON.stringify(prev.stripe_customer_ids ?? []) === JSON.stringify(w.stripeIds) &&
      prev.stripe_livemode === ctx.livemode && String(prev.stripe_connection_id ?? '') === String(ctx.connectionId) &&
      (prev.payment_invoice_id ?? null) === w.billing.payment_invoice_id;
    if (same) {
      counts.unchanged++;
    } else {
      counts.updated++;
      // raw driver write: set updatedAt by hand (the customer search index refreshes by it)
      ops.push({ updateOne: { filter: { _id: w.customer._id }, update: { $set: { ...next, 'billing.synced_at': new Date(ctx.now * 1000), updatedAt: new Date() } } } });
    }
    const prevStatus = (prev.payment_status ?? 'none') as PaymentStatus;
    const failingNow = w.billing.payment_status === 'failing' || w.billing.payment_status === 'past_due';
    const wasFailing = prevStatus === 'failing' || prevStatus === 'past_due';
    const known = !ctx.initial || prev.synced_at != null;
    if (failingNow && known && (!wasFailing || (prev.payment_invoice_id ?? null) !== w.billing.payment_invoice_id)) {
      signals.push(() => raisePaymentFailing(ctx, w.customer, w.billing, prevStatus, w.stripeIds[0] ?? null));
    }
  }
  // Bounded chunks, one at a time: FerretDB's SQLite backend serialises writers, and
  // concurrent batches only wait on each other's locks.
  for (let i = 0; i < ops.length; i += 50) await Customer.collection.bulkWrite(ops.slice(i, i + 50), { ordered: false });
  for (const s of signals) await s();
  return { counts, problems, touched };
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
