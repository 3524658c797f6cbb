// How Pivotal reads Stripe objects, through the real SDK against the fake: latest invoices
// that arrive unexpanded are fetched (payment status never silently reads "none"), coupons
// are read in both discount shapes, and a webhook reads the same subscriptions a walk does,
// so the two never disagree on a customer's payment status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createStripeClient, latestInvoices, mapSubscription, type Stripe } from '../../core/connectors/stripe/client.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { syncStripeCustomers } from '../../core/sync/billing-run.ts';
import { Connection } from '../../core/models/connection.ts';
import { attachBilling } from '../../core/billing/store.ts';
import { Workspace } from '../../core/models/workspace.ts';
import { SyncError } from '../../core/models/sync.ts';
import { DomainEvent } from '../../core/models/events.ts';
import { handleStripeWebhook } from '../../core/sync/stripe-events.ts';
import { processInboundEvent } from '../../core/inbound/pipeline.ts';
import { inboundProcessors } from '../../core/app/composition.ts';
import { InboundEvent } from '../../core/models/events.ts';

/** What the worker's inbound.process job does after a webhook is answered. */
async function processRecorded(): Promise<void> {
  for (const e of await InboundEvent.find({ status: 'received' }, { _id: 1 }).lean()) await processInboundEvent(String(e._id), inboundProcessors);
}
import { connectionStatus } from '../../core/sync/connections.ts';

useTestDatabase('stripe_reads');
let fake: FakeStripe;

beforeAll(async () => {
  fake = await startFakeStripe();
  process.env.STRIPE_API_BASE_URL = fake.url;
  resetEnvCache();
});

afterAll(async () => {
  await fake?.close();
  delete process.env.STRIPE_API_BASE_URL;
  resetEnvCache();
});

/** A Stripe account of its own (so walks see only what a test seeds), with a test-mode restricted key. */
function ownTestAccount(name: string) {
  const account = fake.addAccount({ name });
  const key = `rk_test_${name.toLowerCase().replace(/[^a-z0-9]/g, '')}readsaccount01`;
  fake.addApiKey(key, { mode: 'test', account, restricted: true });
  return { account, key, book: fake.book(account, false) };
}

describe('reading Stripe', () => {
  it('fetches latest invoices that were not expanded, once each', async () => {
    const b = fake.book();
    const product = b.insertProduct({ name: 'Reads' }).id as string;
    const price = b.insertPrice({ product, unit_amount: 1000, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
    const customer = b.insertCustomer({ email: 'x@unexpanded.io' }).id as string;
    const sub = b.insertSubscription({ customer, items: [{ price }] } as any).id as string;
    const invoice = b.insertInvoice({ customer, subscription: sub, status: 'open', attempt_count: 2 }).id as string;
    const stripe = createStripeClient(fake.secretKey);
    const bare = (await stripe.subscriptions.list({ customer })).data;
    expect(bare[0]!.latest_invoice).toBe(invoice);
    fake.clearLogs();
    const invoices = await latestInvoices(stripe, [...bare, ...bare]);
    expect(invoices).toEqual([expect.objectContaining({ id: invoice, status: 'open', attemptCount: 2 })]);
    expect(fake.requests.filter((r) => r.path.startsWith('/v1/invoices/')).length).toBe(1);
  });

  it('reads a coupon under discount.source (current API) and directly on the discount (before 2025-09-30)', () => {
    const coupon = { id: 'co_1', object: 'coupon', percent_off: 25, amount_off: null, currency: null };
    const base = {
      id: 'sub_1', customer: 'cus_1', status: 'active', start_date: 1,
      items: { data: [{ quantity: 1, price: { id: 'price_1', unit_amount: 1000, currency: 'usd', recurring: { interval: 'month', interval_count: 1 }, lookup_key: null, product: 'prod_1' } }] },
    };
    const current = mapSubscription({ ...base, discounts: [{ id: 'di_1', end: null, source: { type: 'coupon', coupon } }] } as unknown as Stripe.Subscription, new Map());
    const legacy = mapSubscription({ ...base, discounts: [{ id: 'di_1', end: null, coupon }] } as unknown as Stripe.Subscription, new Map());
    expect(current.discounts).toEqual([{ percentOff: 25, amountOff: null, currency: null, end: null }]);
    expect(legacy.discounts).toEqual(current.discounts);
  });

  it('a webhook re-read ignores out-of-scope subscriptions exactly as the walk does', async () => {
    const ws = await createWorkspace({ name: 'Scoped' });
    await createCustomers(ws._id, [{ name: 'Scoped', domain: 'scoped.io' }]);
    const { key, book: b } = ownTestAccount('Scoped');
    const core = b.insertProduct({ name: 'Core' }).id as string;
    const other = b.insertProduct({ name: 'Side project' }).id as string;
    const price = (product: string) => b.insertPrice({ product, unit_amount: 5000, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
    const customer = b.insertCustomer({ email: 'pay@scoped.io' }).id as string;
    const inScope = b.insertSubscription({ customer, items: [{ price: price(core) }] } as any).id as string;
    const outOfScope = b.insertSubscription({ customer, items: [{ price: price(other) }] } as any).id as string;
    b.insertInvoice({ customer, subscription: inScope, status: 'paid', created: fake.now() - 86_400 });
    b.insertInvoice({ customer, subscription: outOfScope, status: 'uncollectible' });
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: key }, settings: { scope: { products: [core], lookup_keys: [] } } });
    const billing = async () => (await attachBilling(await Customer.find({ workspace_id: ws._id }).lean()))[0]!.billing;

    await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
    expect(await billing()).toMatchObject({ mrr: 5000, payment_status: 'paid' });
    await syncStripeCustomers((await Connection.findById(conn._id))!, [customer]);
    expect(await billing()).toMatchObject({ mrr: 5000, payment_status: 'paid' });
  });

  it('a currency no FX table knows is a sync error for that customer alone, which keeps its billing', async () => {
    const ws = await createWorkspace({ name: 'Far away' });
    await createCustomers(ws._id, [{ name: 'Cedi', domain: 'cedi.gh' }, { name: 'Dollar', domain: 'dollar.com' }]);
    const { key, book: b } = ownTestAccount('Far away');
    const product = b.insertProduct({ name: 'Plan' }).id as string;
    const price = (currency: string, unit_amount: number) => b.insertPrice({ product, unit_amount, currency, recurring: { interval: 'month', interval_count: 1 } }).id as string;
    const cedi = b.insertCustomer({ email: 'ama@cedi.gh' }).id as string;
    const dollar = b.insertCustomer({ email: 'joe@dollar.com' }).id as string;
    b.insertSubscription({ customer: cedi, items: [{ price: price('usd', 2000) }] } as any);
    b.insertSubscription({ customer: dollar, items: [{ price: price('usd', 3000) }] } as any);
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: key } });
    const connectionId = String(conn._id);
    const mrr = async () => Object.fromEntries((await attachBilling(await Customer.find({ workspace_id: ws._id }).lean())).map((c) => [c.domain, c.billing?.mrr ?? null]));

    await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(await mrr()).toEqual({ 'cedi.gh': 2000, 'dollar.com': 3000 });

    b.insertSubscription({ customer: cedi, items: [{ price: price('ghs', 50000) }] } as any); // 500 GHS a month, no rate anywhere
    const run = await runSync({ connectionId, kind: 'reconcile', trigger: 'test' });
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ matched: 1, errors: 1 });
    expect(await mrr()).toEqual({ 'cedi.gh': 2000, 'dollar.com': 3000 }); // kept, not cleared
    const errors = await SyncError.find({ connection_id: conn._id, resolved_at: null }).lean();
    expect(errors.map((e) => [e.record_id, e.message])).toEqual([[cedi, 'No FX rate for GHS: add it to FX_RATES_USD or the workspace FX table']]);

    await Workspace.updateOne({ _id: ws._id }, { $set: { 'settings.fx_rates_usd': { ghs: 0.08 } } });
    const fixed = await runSync({ connectionId, kind: 'reconcile', trigger: 'test' });
    expect(fixed.counts).toMatchObject({ matched: 2, errors: 0 });
    expect(await mrr()).toEqual({ 'cedi.gh': 2000 + 500 * 0.08 * 100, 'dollar.com': 3000 });
    expect(await SyncError.countDocuments({ connection_id: conn._id, resolved_at: null })).toBe(0); // fixed errors close
  });

  it('a deauthorization from the Stripe dashboard asks the admin to reconnect', async () => {
    const ws = await createWorkspace({ name: 'Revoked' });
    const secret = 'whsec_revoked_endpoint_secret';
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: fake.secretKey }, webhookSecret: secret });
    const event = { id: 'evt_deauth_1', object: 'event', type: 'account.application.deauthorized', created: fake.now(), livemode: false, api_version: '2026-10-28.endive', data: { object: { id: 'ca_pivotal', object: 'application', name: 'Pivotal' } } };
    const body = JSON.stringify(event);
    const out = await handleStripeWebhook(String(conn._id), Buffer.from(body), fake.signPayload(body, secret));
    expect(out.status).toBe(200);
    await processRecorded();
    const status = await connectionStatus(String(conn._id));
    expect(status).toMatchObject({ state: 'reauthorize', state_reason: expect.stringContaining('disconnected from the Stripe dashboard') });
  });

  it('a one-off invoice whose payment failed makes the customer failing (default scope), once, in webhooks and walks alike', async () => {
    const setup = async (name: string, scoped: boolean) => {
      const ws = await createWorkspace({ name });
      const domain = `${name.toLowerCase()}.io`;
      await createCustomers(ws._id, [{ name, domain }]);
      const { key, book: b } = ownTestAccount(name);
      const product = b.insertProduct({ name: 'Seat' }).id as string;
      const price = b.insertPrice({ product, unit_amount: 1500, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
      const customer = b.insertCustomer({ email: `ap@${domain}` }).id as string;
      const sub = b.insertSubscription({ customer, items: [{ price }] } as any).id as string;
      b.insertInvoice({ customer, subscription: sub, status: 'paid', created: fake.now() - 86_400 });
      const secret = `whsec_${name.toLowerCase()}_oneoff`;
      const conn = await connectSource({
        workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: key }, webhookSecret: secret,
        ...(scoped ? { settings: { scope: { products: [product], lookup_keys: [] } } } : {}),
      });
      await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
      const status = async () => (await attachBilling(await Customer.find({ workspace_id: ws._id }).lean()))[0]!.billing?.payment_status;
      expect(await status()).toBe('paid');
      // An onboarding fee billed on its own invoice, not the subscription's.
      const invoice = b.insertInvoice({ customer, status: 'open', amount_due: 50000, currency: 'usd', billing_reason: 'manual', created: fake.now() }).id as string;
      const failed = b.failInvoicePayment(invoice);
      const body = JSON.stringify(failed);
      expect((await handleStripeWebhook(String(conn._id), Buffer.from(body), fake.signPayload(body, secret))).status).toBe(200);
      await processRecorded();
      const afterWebhook = await status();
      await runSync({ connectionId: String(conn._id), kind: 'reconcile', trigger: 'test' });
      expect(await status()).toBe(afterWebhook);
      return { afterWebhook, signals: await DomainEvent.countDocuments({ workspace_id: ws._id, type: 'customer.payment_failed' }) };
    };
    expect(await setup('Oneoff', false)).toEqual({ afterWebhook: 'failing', signals: 1 });
    // Billing several companies from one account: a narrowed scope counts only its own subscriptions' invoices.
    expect(await setup('Narrow', true)).toEqual({ afterWebhook: 'paid', signals: 0 });
  });

  it('live and test connections of one workspace never take turns on a customer: live mode wins', async () => {
    const ws = await createWorkspace({ name: 'Two modes' });
    await createCustomers(ws._id, [{ name: 'Shared', domain: 'shared.co' }, { name: 'Staging', domain: 'staging.shared.dev' }]);
    const account = fake.addAccount({ name: 'Two modes' });
    const keys = { live: 'rk_live_twomodesaccount00001', test: 'rk_test_twomodesaccount00001' };
    fake.addApiKey(keys.live, { mode: 'live', account, restricted: true });
    fake.addApiKey(keys.test, { mode: 'test', account, restricted: true });
    const seed = (livemode: boolean, email: string, cents: number) => {
      const b = fake.book(account, livemode);
      const product = b.insertProduct({ name: livemode ? 'Live' : 'Test' }).id as string;
      const price = b.insertPrice({ product, unit_amount: cents, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
      b.insertSubscription({ customer: b.insertCustomer({ email }).id as string, items: [{ price }] } as any);
    };
    seed(false, 'qa@shared.co', 100); // someone's test subscription on the real company's domain
    seed(false, 'qa@staging.shared.dev', 200);
    seed(true, 'ap@shared.co', 90000);
    const connect = async (mode: 'live' | 'test') =>
      String((await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', mode, credentials: { accessToken: keys[mode] } }))._id);
    const test = await connect('test');
    const live = await connect('live');
    const billing = async () =>
      Object.fromEntries((await attachBilling(await Customer.find({ workspace_id: ws._id }).lean())).map((c) => [c.domain, [c.billing?.mrr ?? null, c.billing?.stripe_livemode ?? null]]));

    await runSync({ connectionId: test, kind: 'full', trigger: 'test' });
    expect(await billing()).toEqual({ 'shared.co': [100, false], 'staging.shared.dev': [200, false] });
    await runSync({ connectionId: live, kind: 'full', trigger: 'test' });
    expect(await billing()).toEqual({ 'shared.co': [90000, true], 'staging.shared.dev': [200, false] });
    const again = await runSync({ connectionId: test, kind: 'reconcile', trigger: 'test' });
    expect(again.counts).toMatchObject({ matched: 1, skipped: 1, updated: 0 });
    expect(await billing()).toEqual({ 'shared.co': [90000, true], 'staging.shared.dev': [200, false] });
    await runSync({ connectionId: live, kind: 'reconcile', trigger: 'test' });
    expect(await billing()).toEqual({ 'shared.co': [90000, true], 'staging.shared.dev': [200, false] });
  });

  it('a walk under Stripe\'s rate limit (429, Stripe-Should-Retry) still bills everyone', async () => {
    const limited = await startFakeStripe({ rateLimitPerSec: 4 });
    const saved = process.env.STRIPE_API_BASE_URL;
    process.env.STRIPE_API_BASE_URL = limited.url;
    resetEnvCache();
    try {
      const ws = await createWorkspace({ name: 'Throttled' });
      const b = limited.book();
      const product = b.insertProduct({ name: 'Seat' }).id as string;
      const price = b.insertPrice({ product, unit_amount: 1000, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
      const n = 250; // three pages of customers and of subscriptions
      for (let i = 0; i < n; i++) b.insertSubscription({ customer: b.insertCustomer({ email: `ap@t${i}.example` }).id as string, items: [{ price }] } as any);
      await createCustomers(ws._id, Array.from({ length: n }, (_, i) => ({ name: `T${i}`, domain: `t${i}.example` })));
      const conn = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: limited.secretKey } });
      const run = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
      expect(run.status).toBe('succeeded');
      expect(run.counts).toMatchObject({ matched: n, errors: 0 });
      expect(limited.requests.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    } finally {
      process.env.STRIPE_API_BASE_URL = saved;
      resetEnvCache();
      await limited.close();
    }
  }, 60_000);
});
