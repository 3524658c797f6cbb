// Exercises the Stripe fake through the real `stripe` SDK, so what passes here is what the
// SDK actually sends (form encoding, expand[], versions, idempotency keys, retries).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { startFakeStripe } from './stripe.ts';
import type { FakeStripe } from './stripe.ts';

let fake: FakeStripe;

function client(key = fake.secretKey, extra: Record<string, unknown> = {}): Stripe {
  return new Stripe(key, { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0, ...extra });
}

async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(async () => {
  await fake.close();
});

describe('auth and error envelope', () => {
  it('rejects unknown keys with Stripe’s 401 envelope and a Request-Id', async () => {
    const err = await caught(client('sk_test_nope1234abcd').customers.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err.statusCode).toBe(401);
    expect(err.message).toBe('Invalid API Key provided: sk_test_****abcd');
    expect(err.requestId).toMatch(/^req_/);
    expect(err.rawType).toBe('invalid_request_error');
  });

  it('accepts basic auth and rejects missing keys', async () => {
    const basic = Buffer.from(`${fake.secretKey}:`).toString('base64');
    const ok = await fetch(`${fake.url}/v1/customers`, { headers: { authorization: `Basic ${basic}` } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).object).toBe('list');
    const none = await fetch(`${fake.url}/v1/customers`);
    expect(none.status).toBe(401);
    expect(none.headers.get('request-id')).toMatch(/^req_/);
    expect(((await none.json()) as any).error.message).toMatch(/did not provide an API key/);
  });

  it('404s unknown routes and missing objects with resource_missing / param id', async () => {
    const stripe = client();
    const err = await caught(stripe.customers.retrieve('cus_missing'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('resource_missing');
    expect(err.param).toBe('id');
    expect(err.raw.doc_url).toBe('https://stripe.com/docs/error-codes/resource-missing');
    const raw = await fetch(`${fake.url}/v1/nope`, { headers: { authorization: `Bearer ${fake.secretKey}` } });
    expect(raw.status).toBe(404);
    expect(((await raw.json()) as any).error.message).toMatch(/^Unrecognized request URL \(GET: \/v1\/nope\)/);
  });

  it('hints when an id exists in the other mode', async () => {
    const liveKey = 'sk_live_pivotal_test_key_0001';
    fake.addApiKey(liveKey, { mode: 'live' });
    const cus = fake.createCustomer({ email: 'testmode@example.com' }).data.object;
    const err = await caught(client(liveKey).customers.retrieve(cus.id));
    expect(err.message).toContain('a similar object exists in test mode, but a live mode key was used');
    expect((await client(liveKey).customers.list()).data).toHaveLength(0);
  });
});

describe('what the SDK sends', () => {
  it('sends its pinned Stripe-Version, form-encodes nested params, keys every POST', async () => {
    const stripe = client();
    fake.clearLogs();
    await stripe.customers.create({ email: 'a@example.com', metadata: { tier: 'gold', crm_id: '42' } });
    await stripe.subscriptions.list({ limit: 3, expand: ['data.customer'], created: { gte: 0 } });
    const [post, get] = fake.requests;
    expect(post!.apiVersion).toBe(Stripe.API_VERSION);
    expect(post!.idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(post!.body).toEqual({ email: 'a@example.com', metadata: { tier: 'gold', crm_id: '42' } });
    // Arrays go out indexed (expand[0]=…), nested hashes bracketed, all in the query string for GET.
    expect(get!.query).toBe('limit=3&expand[0]=data.customer&created[gte]=0');
    expect(get!.idempotencyKey).toBeNull();
  });
});

describe('customers', () => {
  it('creates, updates (metadata unset semantics), deletes and emits events', async () => {
    const stripe = client();
    const c = await stripe.customers.create({ email: 'x@example.com', name: 'X', metadata: { a: '1', b: '2' } });
    expect(c.id).toMatch(/^cus_/);
    expect(c.object).toBe('customer');
    expect(c.livemode).toBe(false);
    const u = await stripe.customers.update(c.id, { name: 'Y', metadata: { a: '', c: '3' } });
    expect(u.metadata).toEqual({ b: '2', c: '3' });
    const updated = fake.events.filter((e) => e.type === 'customer.updated' && e.data.object.id === c.id);
    expect(updated).toHaveLength(1);
    expect(updated[0]!.data.previous_attributes).toEqual({ name: 'X', metadata: { a: '1', c: null } });
    expect(updated[0]!.request.id).toMatch(/^req_/);

    const bad = await caught(stripe.customers.update(c.id, { phone: '123' }));
    expect(bad.code).toBe('parameter_unknown');
    expect(bad.param).toBe('phone');
    expect(bad.message).toBe('Received unknown parameter: phone');
    const badEmail = await caught(stripe.customers.update(c.id, { email: 'not-an-email' }));
    expect(badEmail.code).toBe('email_invalid');

    const del = await stripe.customers.del(c.id);
    expect(del).toMatchObject({ id: c.id, object: 'customer', deleted: true });
    const again = await stripe.customers.retrieve(c.id);
    expect(again).toEqual({ id: c.id, object: 'customer', deleted: true });
    const list = await stripe.customers.list({ email: 'x@example.com' });
    expect(list.data).toHaveLength(0);
  });

  it('deleting a customer cancels its subscriptions', () => {
    const { data: { object: price } } = fake.createPrice({ product: fake.createProduct({ name: 'P' }).data.object.id, unit_amount: 1000, recurring: { interval: 'month' } });
    const cus = fake.createCustomer({ email: 'gone@example.com' }).data.object;
    const sub = fake.createSubscription({ customer: cus.id, items: [{ price: price.id }] }).data.object;
    const before = fake.events.length;
    fake.deleteCustomer(cus.id);
    const types = fake.events.slice(before).map((e) => e.type);
    expect(types).toEqual(['customer.subscription.deleted', 'customer.deleted']);
    expect(fake.book().get('subscription', sub.id)!.status).toBe('canceled');
  });
});

describe('list semantics', () => {
  let ids: string[];
  let other: FakeStripe;
  beforeAll(async () => {
    // A dedicated server so other tests' customers don't interleave.
    other = await startFakeStripe();
    ids = [];
    for (let i = 0; i < 25; i++) ids.push(other.createCustomer({ email: `l${i}@example.com`, created: 1_700_000_000 + Math.floor(i / 5) }).data.object.id);
  });
  afterAll(() => other.close());
  const c = () => new Stripe(other.secretKey, { host: '127.0.0.1', port: other.port, protocol: 'http', maxNetworkRetries: 0 });

  it('returns newest first with has_more/url and walks every page with auto-pagination', async () => {
    const first = await c().customers.list();
    expect(first.object).toBe('list');
    expect(first.url).toBe('/v1/customers');
    expect(first.data).toHaveLength(10);
    expect(first.has_more).toBe(true);
    expect(first.data[0]!.id).toBe(ids[24]);
    const all = await c().customers.list({ limit: 7 }).autoPagingToArray({ limit: 1000 });
    expect(all.map((x) => x.id)).toEqual([...ids].reverse());
    const pages = other.requests.filter((r) => r.path === '/v1/customers').slice(-4).map((r) => r.query);
    expect(pages[1]).toBe(`limit=7&starting_after=${ids[18]}`);
  });

  it('supports ending_before (page nearest the cursor, newest first)', async () => {
    const page = await c().customers.list({ limit: 3, ending_before: ids[10] });
    expect(page.data.map((x) => x.id)).toEqual([ids[13], ids[12], ids[11]]);
    expect(page.has_more).toBe(true);
    const back = await c().customers.list({ limit: 5, ending_before: ids[10] }).autoPagingToArray({ limit: 100 });
    expect(back.map((x) => x.id)).toEqual(ids.slice(11));
  });

  it('validates limit, cursors and unknown params', async () => {
    for (const limit of [0, 101]) {
      const err = await caught(c().customers.list({ limit }));
      expect(err.statusCode).toBe(400);
      expect(err.param).toBe('limit');
    }
    const unknown = await caught(c().customers.list({ status: 'active' } as any));
    expect(unknown.code).toBe('parameter_unknown');
    const cursor = await caught(c().customers.list({ starting_after: 'cus_nope' }));
    expect(cursor.code).toBe('resource_missing');
    expect(cursor.param).toBe('starting_after');
    const both = await caught(c().customers.list({ starting_after: ids[1], ending_before: ids[2] }));
    expect(both.statusCode).toBe(400);
    const created = await c().customers.list({ created: { gte: 1_700_000_004 }, limit: 100 });
    expect(created.data.map((x) => x.id)).toEqual(ids.slice(20).reverse());
  });
});

describe('subscriptions, invoices, expansion', () => {
  let cus: string;
  let monthly: string;
  let yearly: string;
  let product: string;
  let active: string;
  let canceled: string;
  let coupon: string;

  beforeAll(() => {
    product = fake.createProduct({ name: 'Growth' }).data.object.id;
    monthly = fake.createPrice({ product, unit_amount: 5000, recurring: { interval: 'month' }, lookup_key: 'growth_monthly' }).data.object.id;
    yearly = fake.createPrice({ product, unit_amount: 50000, recurring: { interval: 'year' }, lookup_key: 'growth_yearly' }).data.object.id;
    coupon = fake.createCoupon({ percent_off: 20 }).data.object.id;
    cus = fake.createCustomer({ email: 'sub@example.com', name: 'Subscriber' }).data.object.id;
    active = fake.createSubscription({ customer: cus, items: [{ price: monthly, quantity: 2 }], coupons: [coupon] }).data.object.id;
    canceled = fake.createSubscription({ customer: cus, items: [{ price: yearly }] }).data.object.id;
    fake.cancelSubscription(canceled);
  });

  it('excludes canceled by default; status=all/canceled; price filter', async () => {
    const stripe = client();
    expect((await stripe.subscriptions.list({ customer: cus })).data.map((s) => s.id)).toEqual([active]);
    expect((await stripe.subscriptions.list({ customer: cus, status: 'all' })).data.map((s) => s.id)).toEqual([canceled, active]);
    expect((await stripe.subscriptions.list({ customer: cus, status: 'canceled' })).data.map((s) => s.id)).toEqual([canceled]);
    expect((await stripe.subscriptions.list({ price: yearly, status: 'all' })).data.map((s) => s.id)).toEqual([canceled]);
    const bad = await caught(stripe.subscriptions.list({ status: 'bogus' as any }));
    expect(bad.param).toBe('status');
  });

  it('renders current-version shapes and expands nested paths', async () => {
    const stripe = client();
    const page = await stripe.subscriptions.list({
      customer: cus,
      expand: ['data.customer', 'data.discounts', 'data.latest_invoice'],
    });
    const s = page.data[0]!;
    expect(s.object).toBe('subscription');
    expect((s.customer as Stripe.Customer).email).toBe('sub@example.com');
    const item = s.items.data[0]!;
    expect(item.price.id).toBe(monthly);
    expect(item.price.recurring).toMatchObject({ interval: 'month', interval_count: 1 });
    expect(item.quantity).toBe(2);
    expect(item.current_period_end).toBeGreaterThan(item.current_period_start);
    expect('current_period_end' in s).toBe(false);
    const d = s.discounts[0] as Stripe.Discount;
    expect(d.object).toBe('discount');
    expect(d.source.coupon).toBe(coupon);
    expect(s.latest_invoice).toBeNull();

    // Four levels is the limit: data.items.data.price.product is five and Stripe refuses it.
    // Item prices are always embedded, and (as in Stripe's spec) not expandable themselves.
    const embedded = await caught(stripe.subscriptions.list({ expand: ['data.items.data.price'] }));
    expect(embedded.message).toBe('This property cannot be expanded (price).');
    const deep = await caught(stripe.subscriptions.list({ expand: ['data.items.data.price.product'] }));
    expect(deep.statusCode).toBe(400);
    expect(deep.message).toBe('You cannot expand more than 4 levels of a property. Property: data.items.data.price.product');
    const one = await stripe.subscriptions.retrieve(active, { expand: ['items.data.price.product', 'discounts.source.coupon'] });
    expect((one.items.data[0]!.price.product as Stripe.Product).name).toBe('Growth');
    expect(((one.discounts[0] as Stripe.Discount).source.coupon as Stripe.Coupon).percent_off).toBe(20);
    const notExpandable = await caught(stripe.subscriptions.retrieve(active, { expand: ['status'] }));
    expect(notExpandable.message).toBe('This property cannot be expanded (status).');
  });

  it('serves legacy fields to clients pinned to an older API version', async () => {
    const old = client(fake.secretKey, { apiVersion: '2024-06-20' as any });
    const s: any = await old.subscriptions.retrieve(active);
    expect(s.current_period_end).toBe(s.items.data[0].current_period_end);
    expect(s.discount.coupon.percent_off).toBe(20);
    fake.createInvoice({ customer: cus, subscription: active, status: 'open' });
    const inv: any = (await old.invoices.list({ subscription: active })).data[0];
    expect(inv.subscription).toBe(active);
  });

  it('models dunning: failed payment → past_due, retry scheduled, recovery on payment', async () => {
    const stripe = client();
    const inv = fake.createInvoice({ customer: cus, subscription: active, status: 'open' }).data.object;
    expect(inv.amount_due).toBe(8000); // 2 × 5000 less 20%
    expect(inv.parent.subscription_details.subscription).toBe(active);
    fake.setNow(1_800_000_000);
    try {
      const failed = fake.failInvoicePayment(inv.id);
      expect(failed.type).toBe('invoice.payment_failed');
      expect(failed.data.object.attempt_count).toBe(1);
      expect(failed.data.object.next_payment_attempt).toBe(1_800_000_000 + 3 * 86400);
      expect(failed.data.previous_attributes).toMatchObject({ attempt_count: 0, attempted: false });
      const sub = await stripe.subscriptions.retrieve(active, { expand: ['latest_invoice', 'customer'] });
      expect(sub.status).toBe('past_due');
      expect((sub.latest_invoice as Stripe.Invoice).id).toBe(inv.id);
      expect((sub.customer as Stripe.Customer).delinquent).toBe(true);
      const updated = fake.events.filter((e) => e.type === 'customer.subscription.updated').at(-1)!;
      expect(updated.data.previous_attributes).toEqual({ status: 'active' });

      const open = await stripe.invoices.list({ customer: cus, status: 'open', limit: 1 });
      expect(open.data[0]!.id).toBe(inv.id);
      const paid = fake.payInvoice(inv.id);
      expect(paid.data.object.status).toBe('paid');
      expect((await stripe.subscriptions.retrieve(active)).status).toBe('active');
      expect((await stripe.customers.retrieve(cus) as Stripe.Customer).delinquent).toBe(false);

      const inv2 = fake.createInvoice({ customer: cus, subscription: active, status: 'open' }).data.object;
      fake.failInvoicePayment(inv2.id, { final: true });
      const unc = fake.markUncollectible(inv2.id);
      expect(unc.type).toBe('invoice.marked_uncollectible');
      expect(unc.data.object.next_payment_attempt).toBeNull();
      expect((await stripe.invoices.retrieve(inv2.id)).status).toBe('uncollectible');
    } finally {
      fake.setNow(null);
    }
  });

  it('filters prices by lookup_keys[] and products by id', async () => {
    const stripe = client();
    const prices = await stripe.prices.list({ lookup_keys: ['growth_yearly', 'growth_monthly'], expand: ['data.product'] });
    expect(prices.data.map((p) => p.id)).toEqual([yearly, monthly]);
    expect((prices.data[0]!.product as Stripe.Product).name).toBe('Growth');
    expect((await stripe.products.retrieve(product)).name).toBe('Growth');
  });
});

describe('writes are recorded and validated', () => {
  it('records every write attempt, accepted or not', async () => {
    const stripe = client();
    const product = fake.createProduct({ name: 'W' }).data.object.id;
    fake.clearLogs();
    const price = await stripe.prices.create({ product, unit_amount: 100, currency: 'usd', recurring: { interval: 'month' } });
    expect(price.type).toBe('recurring');
    const dup = await caught(stripe.prices.create({ product, unit_amount: 100, currency: 'usd', recurring: { interval: 'fortnight' as any } }));
    expect(dup.param).toBe('recurring[interval]');
    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    expect(pi.status).toBe('requires_payment_method');
    const refund = await caught(stripe.refunds.create({ payment_intent: pi.id }));
    expect(refund.statusCode).toBe(400);
    const charge = await caught(stripe.charges.create({ amount: 100, currency: 'usd' }));
    expect(charge.statusCode).toBe(404);
    expect(fake.writes.map((w) => [w.resource, w.accepted])).toEqual([
      ['prices', true], ['prices', false], ['payment_intents', true], ['refunds', false], ['charges', false],
    ]);
    expect(fake.writes[0]!.params).toMatchObject({ recurring: { interval: 'month' } });
  });

  it('restricted keys read but cannot write', async () => {
    fake.addApiKey('rk_test_readonly_0001', { mode: 'test', restricted: true });
    const rk = client('rk_test_readonly_0001');
    await rk.customers.list();
    fake.clearLogs();
    const err = await caught(rk.customers.create({ email: 'no@example.com' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(err.statusCode).toBe(403);
    expect(fake.writes).toHaveLength(1);
    expect(fake.writes[0]).toMatchObject({ resource: 'customers', accepted: false, status: 403 });
  });

  it('replays idempotent requests and rejects key reuse with other params', async () => {
    const stripe = client();
    const a = await stripe.customers.create({ email: 'idem@example.com' }, { idempotencyKey: 'k-1' });
    const b = await stripe.customers.create({ email: 'idem@example.com' }, { idempotencyKey: 'k-1' });
    expect(b.id).toBe(a.id);
    expect(b.lastResponse.headers['idempotent-replayed']).toBe('true');
    const err = await caught(stripe.customers.create({ email: 'other@example.com' }, { idempotencyKey: 'k-1' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });
});

describe('faults, rate limits and SDK retries', () => {
  it('failNext: the SDK retries 5xx with the same idempotency key', async () => {
    fake.clearLogs();
    fake.failNext(1, 500);
    const c = await client(fake.secretKey, { maxNetworkRetries: 1 }).customers.create({ email: 'retry@example.com' });
    expect(c.id).toMatch(/^cus_/);
    expect(fake.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(fake.requests[0]!.idempotencyKey).toBe(fake.requests[1]!.idempotencyKey);
    fake.failNext(1, 503, { path: '/v1/invoices' });
    const err = await caught(client().invoices.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err.statusCode).toBe(503);
  });

  it('429 with Stripe-Should-Retry is retried; without retries it surfaces as StripeRateLimitError', async () => {
    const limited = await startFakeStripe({ rateLimitPerSec: 2 });
    try {
      const mk = (retries: number) => new Stripe(limited.secretKey, { host: '127.0.0.1', port: limited.port, protocol: 'http', maxNetworkRetries: retries });
      const results = await Promise.all(Array.from({ length: 5 }, () => mk(4).customers.list({ limit: 1 })));
      expect(results.every((r) => r.object === 'list')).toBe(true);
      const statuses = limited.requests.map((r) => r.status);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      await new Promise((r) => setTimeout(r, 1100));
      await Promise.all([mk(0).customers.list(), mk(0).customers.list()]);
      const err = await caught(mk(0).customers.list());
      expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      expect(err.code).toBe('rate_limit');
      expect(err.headers['stripe-should-retry']).toBe('true');
    } finally {
      await limited.close();
    }
  });
});

describe('events and webhooks', () => {
  it('lists events with type, wildcard, types[] and created filters', async () => {
    const f = await startFakeStripe();
    try {
      const stripe = new Stripe(f.secretKey, { host: '127.0.0.1', port: f.port, protocol: 'http' });
      const t0 = f.now();
      const c = f.createCustomer({ email: 'e@example.com' });
      f.updateCustomer(c.data.object.id, { name: 'E' });
      const p = f.createProduct({ name: 'E' });
      expect((await stripe.events.list({ type: 'customer.updated' })).data.map((e) => e.type)).toEqual(['customer.updated']);
      expect((await stripe.events.list({ type: 'customer.*' })).data).toHaveLength(2);
      expect((await stripe.events.list({ types: ['product.created', 'customer.created'] })).data.map((e) => e.id)).toEqual([p.id, c.id]);
      expect((await stripe.events.list({ created: { gte: t0 } })).data).toHaveLength(3);
      expect((await stripe.events.list({ created: { gt: t0 + 3600 } })).data).toHaveLength(0);
      const ev = await stripe.events.retrieve(c.id);
      expect((ev.data.object as Stripe.Customer).email).toBe('e@example.com');
    } finally {
      await f.close();
    }
  });

  it('signs payloads that stripe.webhooks.constructEvent accepts; rejects tampered and stale ones', async () => {
    const secret = 'whsec_test_secret';
    const ev = fake.createCustomer({ email: 'hook@example.com' });
    const payload = JSON.stringify(ev);
    const ok = Stripe.webhooks.constructEvent(payload, fake.signPayload(payload, secret), secret);
    expect(ok.id).toBe(ev.id);
    expect(() => Stripe.webhooks.constructEvent(payload.replace('hook@', 'evil@'), fake.signPayload(payload, secret), secret))
      .toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(() => Stripe.webhooks.constructEvent(payload, fake.signPayload(payload, secret, fake.now() - 600), secret))
      .toThrow(/tolerance/);

    // deliverEvent posts like Stripe does; the receiver verifies the raw body.
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          Stripe.webhooks.constructEvent(Buffer.concat(chunks), req.headers['stripe-signature'] as string, secret);
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    try {
      expect(await fake.deliverEvent(url, ev, secret)).toBe(200);
      expect(await fake.deliverEvent(url, ev, 'whsec_wrong')).toBe(400);
      expect(await fake.deliverEvent(url, ev, secret, { timestamp: fake.now() - 3600 })).toBe(400);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('Connect: OAuth and Stripe-Account', () => {
  it('exchanges a code, uses the token, refreshes, and deauthorizes', async () => {
    const acct = fake.addAccount({ name: 'Acme Inc' });
    fake.book(acct, false).createCustomer({ email: 'acme-customer@example.com' });
    const code = fake.issueAuthCode(acct, 'test');
    const stripe = client();
    const tok = await stripe.oauth.token({ grant_type: 'authorization_code', code });
    expect(tok).toMatchObject({ token_type: 'bearer', stripe_user_id: acct, scope: 'read_write', livemode: false });
    expect(tok.access_token).toMatch(/^sk_test_/);
    expect(tok.refresh_token).toMatch(/^rt_/);
    expect(tok.stripe_publishable_key).toMatch(/^pk_test_/);

    const asAcct = client(tok.access_token!);
    expect((await asAcct.accounts.retrieveCurrent()).id).toBe(acct);
    expect((await asAcct.customers.list()).data.map((c) => c.email)).toEqual(['acme-customer@example.com']);
    // The platform key reaches the same data through Stripe-Account.
    const viaHeader = await stripe.customers.list({}, { stripeAccount: acct });
    expect(viaHeader.data).toHaveLength(1);
    expect(fake.requests.at(-1)!.stripeAccount).toBe(acct);

    const reuse = await caught(stripe.oauth.token({ grant_type: 'authorization_code', code }));
    expect(reuse).toBeInstanceOf(Stripe.errors.StripeInvalidGrantError);
    const refreshed = await stripe.oauth.token({ grant_type: 'refresh_token', refresh_token: tok.refresh_token! });
    expect(refreshed.stripe_user_id).toBe(acct);

    const stranger = fake.addAccount();
    const denied = await caught(stripe.customers.list({}, { stripeAccount: stranger }));
    expect(denied).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(denied.code).toBe('account_invalid');

    const de = await stripe.oauth.deauthorize({ client_id: fake.clientId, stripe_user_id: acct });
    expect(de.stripe_user_id).toBe(acct);
    expect(await caught(client(refreshed.access_token!).customers.list())).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((await caught(stripe.customers.list({}, { stripeAccount: acct }))).code).toBe('account_invalid');
    expect(fake.events.filter((e) => e.type === 'account.application.deauthorized').map((e) => e.account)).toEqual([acct]);
  });
});

describe('seeded book at benchmark scale', () => {
  // Speed is the benchmark's business (bench/billing.ts); this only proves the big book is consistent.
  it('seeds 20k customers / 30k subscriptions and pages through them with expand', async () => {
    const big = await startFakeStripe();
    try {
      const seeded = big.seedBook({ customers: 20_000, subscriptions: 30_000, invoicesPerSubscription: 1 });
      expect(seeded.subscriptionIds).toHaveLength(30_000);
      const stripe = new Stripe(big.secretKey, { host: '127.0.0.1', port: big.port, protocol: 'http' });
      let n = 0;
      const seen = new Set<string>();
      for await (const s of stripe.subscriptions.list({ limit: 100, status: 'all', expand: ['data.customer', 'data.latest_invoice'] })) {
        seen.add(s.id);
        expect(typeof s.customer).toBe('object');
        if (++n >= 5_000) break;
      }
      expect(seen.size).toBe(5_000);
      const book = big.book();
      const pastDue = seeded.subscriptionIds.filter((id) => book.get('subscription', id)!.status === 'past_due').length;
      const listed = await stripe.subscriptions.list({ status: 'past_due', limit: 100 }).autoPagingToArray({ limit: 10_000 });
      expect(listed).toHaveLength(pastDue);
    } finally {
      await big.close();
    }
  }, 120_000);
});
