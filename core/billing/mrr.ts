// Billing math, pure and provider-neutral: a Stripe customer's subscriptions and invoices
// in, Pivotal's billing fields out (plan, mrr in USD cents per month, payment_status,
// billing_started_at). The Stripe connector maps SDK objects to these shapes, so every rule
// of PRODUCT.md "Stripe billing fields" lives here and is unit-tested without I/O.
import type { PaymentStatus } from '../models/customer.ts';
import { toUsdCents, type FxRates } from './fx.ts';

export type BillingInterval = 'day' | 'week' | 'month' | 'year';

export interface BillingPrice {
  id: string;
  /** per-unit amount in the currency's minor units */
  unitAmount: number;
  currency: string;
  interval: BillingInterval;
  intervalCount: number;
  lookupKey: string | null;
  productId: string | null;
  productName: string | null;
}

export interface BillingDiscount {
  percentOff: number | null;
  /** per invoice (= per billing period), in `currency` minor units */
  amountOff: number | null;
  currency: string | null;
  /** unix seconds; null for forever */
  end: number | null;
}

export interface BillingSubscription {
  id: string;
  customerId: string;
  status: string;
  /** unix seconds */
  startDate: number;
  items: { price: BillingPrice; quantity: number }[];
  discounts: BillingDiscount[];
}

export interface BillingInvoice {
  id: string;
  customerId: string;
  status: string; // draft | open | paid | uncollectible | void
  created: number;
  dueDate: number | null;
  attemptCount: number;
  amountRemaining: number;
}

export interface BillingScope {
  /** product ids; empty/absent = all */
  products?: string[];
  /** price lookup keys; empty/absent = all */
  lookupKeys?: string[];
}

export interface BillingFields {
  plan: string | null;
  /** USD cents per month, rounded */
  mrr: number;
  payment_status: PaymentStatus;
  billing_started_at: Date | null;
  /** the invoice that decided payment_status (dedupe key of the payment-failing signal) */
  payment_invoice_id: string | null;
}

/** Statuses whose subscriptions bill now and count towards MRR. */
export const MRR_STATUSES = new Set(['active', 'past_due']);
/** Trialing subscriptions set the plan but bill nothing yet. */
export const PLAN_STATUSES = new Set(['active', 'past_due', 'trialing']);
/** Subscriptions that never started do not start tenure either. */
const NEVER_STARTED = new Set(['incomplete', 'incomplete_expired']);

/** How many billing periods of this interval fit in a month (day ×365/12, week ×52/12, year /12). */
export function periodsPerMonth(interval: BillingInterval, intervalCount = 1): number {
  const n = Math.max(1, intervalCount);
  switch (interval) {
    case 'day': return 365 / 12 / n;
    case 'week': return 52 / 12 / n;
    case 'month': return 1 / n;
    case 'year': return 1 / (12 * n);
  }
}

export function inScope(price: BillingPrice, scope: BillingScope | undefined): boolean {
  const products = scope?.products?.length ? scope.products : null;
  const keys = scope?.lookupKeys?.length ? scope.lookupKeys : null;
  if (!products && !keys) return true;
  return (!!products && !!price.productId && products.includes(price.productId)) || (!!keys && !!price.lookupKey && keys.includes(price.lookupKey));
}

/** Whether any item of the subscription is in the scope (only those subscriptions count at all). */
export function hasItemInScope(sub: Pick<BillingSubscription, 'items'>, scope: BillingScope | undefined): boolean {
  return sub.items.some((it) => inScope(it.price, scope));
}

/**
 * Monthly USD cents of one subscription (unrounded). Discounts apply to the period's
 * amount: percentages first in order, then fixed amounts, never below zero; an expired
 * repeating discount no longer applies. Items outside the scope do not count.
 */
export function subscriptionMrrCents(sub: BillingSubscription, rates: FxRates, opts: { now: number; scope?: BillingScope }): number {
  if (!MRR_STATUSES.has(sub.status)) return 0;
  const items = sub.items.filter((it) => inScope(it.price, opts.scope));
  if (!items.length) return 0;
  const first = items[0]!.price;
  // Stripe requires one currency and interval per subscription; per-item maths keeps this honest anyway.
  let periodUsd = 0;
  for (const it of items) periodUsd += toUsdCents(it.price.unitAmount * it.quantity, it.price.currency, rates) * (periodsPerMonth(it.price.interval, it.price.intervalCount) / periodsPerMonth(first.interval, first.intervalCount));
  const live = sub.discounts.filter((d) => d.end === null || d.end > opts.now);
  for (const d of live) if (d.percentOff) periodUsd -= periodUsd * (d.percentOff / 100);
  for (const d of live) if (d.amountOff) periodUsd -= toUsdCents(d.amountOff, d.currency ?? first.currency, rates);
  periodUsd = Math.max(0, periodUsd);
  return periodUsd * periodsPerMonth(first.interval, first.intervalCount);
}

const SEVERITY: Record<PaymentStatus, number> = { none: 0, paid: 1, past_due: 2, failing: 3 };

/** The worse of two payment statuses (merging several Stripe customers onto one Pivotal customer). */
export function worsePaymentStatus(a: PaymentStatus, b: PaymentStatus): PaymentStatus {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/**
 * payment_status of one Stripe customer from its most recent invoice: paid → paid;
 * uncollectible, or open with a failed attempt → failing; open and past its due date →
 * past_due; no invoices → none. Drafts and voided invoices say nothing about payment; an
 * open invoice that is not yet due and not yet attempted defers to the one before it.
 */
export function paymentStatusFromInvoices(invoices: BillingInvoice[], now: number): { status: PaymentStatus; invoiceId: string | null } {
  const sorted = invoices
    .filter((i) => i.status !== 'draft' && i.status !== 'void')
    .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
  for (const inv of sorted) {
    if (inv.status === 'paid') return { status: 'paid', invoiceId: inv.id };
    if (inv.status === 'uncollectible') return { status: 'failing', invoiceId: inv.id };
    if (inv.status === 'open') {
      if (inv.attemptCount > 0 && inv.amountRemaining > 0) return { status: 'failing', invoiceId: inv.id };
      if (inv.dueDate !== null && inv.dueDate < now) return { status: 'past_due', invoiceId: inv.id };
    }
  }
  return { status: 'none', invoiceId: null };
}

/**
 * The billing fields of one Pivotal customer from all its Stripe customers' subscriptions
 * and invoices (several Stripe customers merge: MRR adds up, the worst payment status and
 * the earliest start win). The plan is the first item of the biggest live subscription
 * (active/past_due before trialing, ties → earliest start): its price lookup_key, else the
 * product name.
 */
export function computeBilling(input: {
  subscriptions: BillingSubscription[];
  invoices: BillingInvoice[];
  rates: FxRates;
  now: number;
  scope?: BillingScope;
}): BillingFields {
  const { rates, now, scope } = input;
  const subs = input.subscriptions.filter((s) => hasItemInScope(s, scope));
  let mrr = 0;
  let planSub: { sub: BillingSubscription; mrr: number } | null = null;
  let started: number | null = null;
  for (const s of subs) {
    const m = subscriptionMrrCents(s, rates, { now, scope });
    mrr += m;
    if (!NEVER_STARTED.has(s.status) && (started === null || s.startDate < started)) started = s.startDate;
    if (!PLAN_STATUSES.has(s.status)) continue;
    const better = !planSub
      || (MRR_STATUSES.has(s.status) && !MRR_STATUSES.has(planSub.sub.status))
      || (MRR_STATUSES.has(s.status) === MRR_STATUSES.has(planSub.sub.status) && (m > planSub.mrr || (m === planSub.mrr && s.startDate < planSub.sub.startDate)));
    if (better) planSub = { sub: s, mrr: m };
  }
  const firstItem = planSub?.sub.items.find((it) => inScope(it.price, scope));
  const plan = firstItem ? (firstItem.price.lookupKey ?? firstItem.price.productName ?? null) : null;
  // Payment health is per Stripe customer; merged customers show the worst of them.
  const byCustomer = new Map<string, BillingInvoice[]>();
  for (const inv of input.invoices) {
    const list = byCustomer.get(inv.customerId) ?? [];
    list.push(inv);
    byCustomer.set(inv.customerId, list);
  }
  let payment: { status: PaymentStatus; invoiceId: string | null } = { status: 'none', invoiceId: null };
  for (const list of byCustomer.values()) {
    const p = paymentStatusFromInvoices(list, now);
    if (worsePaymentStatus(payment.status, p.status) !== payment.status) payment = p;
  }
  return {
    plan,
    mrr: Math.round(mrr),
    payment_status: payment.status,
    billing_started_at: started === null ? null : new Date(started * 1000),
    payment_invoice_id: payment.invoiceId,
  };
}
