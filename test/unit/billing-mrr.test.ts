// The billing rules of PRODUCT.md "Stripe billing fields", checked without I/O.
import { describe, expect, it } from 'vitest';
import { computeBilling, paymentStatusFromInvoices, periodsPerMonth, subscriptionMrrCents, type BillingInvoice, type BillingPrice, type BillingSubscription } from '../../core/billing/mrr.ts';
import { DEFAULT_FX_RATES_USD, resolveFxRates, toUsdCents } from '../../core/billing/fx.ts';

const NOW = 1_800_000_000;
const rates = { ...DEFAULT_FX_RATES_USD, eur: 1.1, jpy: 0.007 };

function price(p: Partial<BillingPrice> = {}): BillingPrice {
  return { id: 'price_x', unitAmount: 1000, currency: 'usd', interval: 'month', intervalCount: 1, lookupKey: null, productId: 'prod_x', productName: 'Pro', ...p };
}
function sub(s: Partial<BillingSubscription> = {}): BillingSubscription {
  return { id: 'sub_x', customerId: 'cus_x', status: 'active', startDate: NOW - 1000, items: [{ price: price(), quantity: 1 }], discounts: [], ...s };
}
function inv(i: Partial<BillingInvoice> = {}): BillingInvoice {
  return { id: 'in_x', customerId: 'cus_x', status: 'paid', created: NOW - 100, dueDate: null, attemptCount: 1, amountRemaining: 0, ...i };
}

describe('interval normalisation', () => {
  it('day ×365/12, week ×52/12, month, quarter /3, year /12', () => {
    expect(periodsPerMonth('day')).toBeCloseTo(365 / 12);
    expect(periodsPerMonth('week')).toBeCloseTo(52 / 12);
    expect(periodsPerMonth('month')).toBe(1);
    expect(periodsPerMonth('month', 3)).toBeCloseTo(1 / 3);
    expect(periodsPerMonth('year')).toBeCloseTo(1 / 12);
    expect(subscriptionMrrCents(sub({ items: [{ price: price({ unitAmount: 30000, intervalCount: 3 }), quantity: 2 }] }), rates, { now: NOW })).toBeCloseTo(20000);
    expect(subscriptionMrrCents(sub({ items: [{ price: price({ unitAmount: 120000, interval: 'year' }), quantity: 1 }] }), rates, { now: NOW })).toBeCloseTo(10000);
    expect(subscriptionMrrCents(sub({ items: [{ price: price({ unitAmount: 1200, interval: 'week' }), quantity: 1 }] }), rates, { now: NOW })).toBeCloseTo(5200);
    expect(subscriptionMrrCents(sub({ items: [{ price: price({ unitAmount: 120, interval: 'day' }), quantity: 1 }] }), rates, { now: NOW })).toBeCloseTo(3650);
  });
});

describe('currencies and discounts', () => {
  it('converts minor units with the currency exponent', () => {
    expect(toUsdCents(1000, 'eur', rates)).toBeCloseTo(1100);
    expect(toUsdCents(10000, 'jpy', rates)).toBeCloseTo(7000);
    expect(() => toUsdCents(100, 'xyz', rates)).toThrow(/No FX rate for XYZ/);
  });
  it('workspace rates override the defaults', () => {
    expect(resolveFxRates({ eur: 2, bad: -1 }).eur).toBe(2);
    expect(resolveFxRates({ bad: -1 }).bad).toBeUndefined();
  });
  it('applies percent then amount discounts per period; expired ones do not count', () => {
    const s = sub({
      items: [{ price: price({ unitAmount: 10000 }), quantity: 1 }],
      discounts: [
        { percentOff: 20, amountOff: null, currency: null, end: null },
        { percentOff: null, amountOff: 500, currency: 'usd', end: NOW + 10 },
        { percentOff: 50, amountOff: null, currency: null, end: NOW - 10 },
      ],
    });
    expect(subscriptionMrrCents(s, rates, { now: NOW })).toBeCloseTo(7500);
    const big = sub({ discounts: [{ percentOff: null, amountOff: 99999, currency: 'usd', end: null }] });
    expect(subscriptionMrrCents(big, rates, { now: NOW })).toBe(0);
  });
});

describe('which subscriptions count', () => {
  it('active and past_due bill; trialing sets the plan at 0; canceled neither', () => {
    const b = computeBilling({
      subscriptions: [
        sub({ id: 's1', status: 'trialing', items: [{ price: price({ lookupKey: 'trial_plan', unitAmount: 99999 }), quantity: 1 }] }),
        sub({ id: 's2', status: 'canceled', startDate: NOW - 99999, items: [{ price: price({ unitAmount: 50000 }), quantity: 1 }] }),
      ],
      invoices: [], rates, now: NOW,
    });
    expect(b).toMatchObject({ mrr: 0, plan: 'trial_plan', payment_status: 'none' });
    expect(b.billing_started_at?.getTime()).toBe((NOW - 99999) * 1000);
    const c = computeBilling({
      subscriptions: [sub({ status: 'past_due', items: [{ price: price({ productName: 'Team' }), quantity: 3 }] })],
      invoices: [], rates, now: NOW,
    });
    expect(c).toMatchObject({ mrr: 3000, plan: 'Team' });
  });
  it('the plan comes from the biggest billing subscription, lookup key first', () => {
    const b = computeBilling({
      subscriptions: [
        sub({ id: 'a', items: [{ price: price({ unitAmount: 100, lookupKey: 'small' }), quantity: 1 }] }),
        sub({ id: 'b', items: [{ price: price({ unitAmount: 900, lookupKey: 'big' }), quantity: 1 }, { price: price({ lookupKey: 'addon' }), quantity: 1 }] }),
      ],
      invoices: [], rates, now: NOW,
    });
    expect(b).toMatchObject({ plan: 'big', mrr: 2000 });
  });
  it('scope filters by product or lookup key', () => {
    const subs = [sub({ items: [{ price: price({ productId: 'p1', unitAmount: 100 }), quantity: 1 }, { price: price({ productId: 'p2', unitAmount: 200 }), quantity: 1 }] })];
    expect(computeBilling({ subscriptions: subs, invoices: [], rates, now: NOW, scope: { products: ['p2'] } }).mrr).toBe(200);
    expect(computeBilling({ subscriptions: subs, invoices: [], rates, now: NOW, scope: { lookupKeys: ['nope'] } })).toMatchObject({ mrr: 0, plan: null, billing_started_at: null });
  });
});

describe('payment status', () => {
  it('maps the most recent invoice', () => {
    expect(paymentStatusFromInvoices([], NOW).status).toBe('none');
    expect(paymentStatusFromInvoices([inv()], NOW).status).toBe('paid');
    expect(paymentStatusFromInvoices([inv(), inv({ id: 'in_2', created: NOW, status: 'uncollectible' })], NOW)).toEqual({ status: 'failing', invoiceId: 'in_2' });
    expect(paymentStatusFromInvoices([inv({ status: 'open', attemptCount: 2, amountRemaining: 100 })], NOW).status).toBe('failing');
    expect(paymentStatusFromInvoices([inv({ status: 'open', attemptCount: 0, amountRemaining: 100, dueDate: NOW - 1 })], NOW).status).toBe('past_due');
    // Not yet due, not yet attempted: the invoice before it decides.
    expect(paymentStatusFromInvoices([inv({ created: NOW - 999 }), inv({ id: 'in_3', status: 'open', attemptCount: 0, amountRemaining: 100, dueDate: NOW + 99 })], NOW).status).toBe('paid');
    expect(paymentStatusFromInvoices([inv({ status: 'draft' }), inv({ status: 'void' })], NOW).status).toBe('none');
  });
  it('merged customers show the worst status', () => {
    const b = computeBilling({ subscriptions: [], invoices: [inv({ customerId: 'a' }), inv({ id: 'in_b', customerId: 'b', status: 'uncollectible' })], rates, now: NOW });
    expect(b.payment_status).toBe('failing');
    expect(b.payment_invoice_id).toBe('in_b');
  });
});
