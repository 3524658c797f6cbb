// Stripe from the operator's side: connect as billing signal with a key, sync, list the
// ambiguous domain and settle it — subprocesses against the Stripe fake.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { createCustomers } from '../../core/customers/customers.ts';

const db = useTestDatabase('stripe_cli');
let fake: FakeStripe;
let env: Record<string, string>;
let workspaceId = '';
let connectionId = '';
const cli = (args: string[]) => runCli(args, env);

beforeAll(async () => {
  fake = await startFakeStripe();
  const b = fake.book();
  const product = b.insertProduct({ name: 'Growth' }).id as string;
  const small = b.insertPrice({ product, unit_amount: 1000, currency: 'usd', recurring: { interval: 'month', interval_count: 1 }, lookup_key: 'small' }).id as string;
  const big = b.insertPrice({ product, unit_amount: 3000, currency: 'usd', recurring: { interval: 'month', interval_count: 1 }, lookup_key: 'big' }).id as string;
  const c1 = b.insertCustomer({ email: 'a@dup.com', name: 'Dup A' }).id as string;
  const c2 = b.insertCustomer({ email: 'b@dup.com', name: 'Dup B' }).id as string;
  const c3 = b.insertCustomer({ email: 'ops@acme.com', name: 'Acme' }).id as string;
  b.insertSubscription({ customer: c1, items: [{ price: small }] } as any);
  b.insertSubscription({ customer: c2, items: [{ price: big }] } as any);
  b.insertSubscription({ customer: c3, items: [{ price: small, quantity: 3 }] } as any);
  env = { MONGODB_URI: db.uri, STRIPE_API_BASE_URL: fake.url };
  workspaceId = (await runCli(['workspace', 'create', '--name', 'Billing'], env)).stdout.trim();
  await createCustomers(new Types.ObjectId(workspaceId), [{ name: 'Acme', domain: 'acme.com' }, { name: 'Dup', domain: 'dup.com' }]);
});

afterAll(async () => {
  await fake?.close();
});

describe('connect stripe and billing', () => {
  it('connects a key as billing signal and refuses malformed keys', async () => {
    const bad = await cli(['connect', 'stripe', '--workspace', workspaceId, '--token', 'not-a-key', '--billing-signal-only']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: /m);
    expect(bad.stderr).not.toContain('not-a-key-secret');
    // A restricted key missing a read permission is refused up front, saying which.
    fake.addApiKey('rk_test_noinvoicereads0001', { mode: 'test', restricted: true, readable: ['customers', 'subscriptions', 'products'] });
    const partial = await cli(['connect', 'stripe', '--workspace', workspaceId, '--token', 'rk_test_noinvoicereads0001', '--billing-signal-only']);
    expect(partial.code).toBe(2);
    expect(partial.stderr.trim()).toBe('error: Stripe rejected the key: it cannot read Invoices. Give the restricted key read access to Customers, Subscriptions, Invoices, Products');
    const unknown = await cli(['connect', 'stripe', '--workspace', workspaceId, '--token', 'rk_test_neverissued000001', '--billing-signal-only']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: Stripe rejected the key: /);
    expect(unknown.stderr).not.toContain('neverissued');
    const r = await cli(['connect', 'stripe', '--workspace', workspaceId, '--token', fake.secretKey, '--billing-signal-only', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ provider: 'stripe', role: 'billing_signal' });
    expect(r.stdout).not.toContain(fake.secretKey);
    connectionId = r.json().connection_id;
  });

  it('syncs billing onto existing customers and lists the ambiguous domain', async () => {
    const sync = await cli(['sync', 'full', '--connection', connectionId, '--wait', '--json']);
    expect(sync.code).toBe(0);
    // matched counts Stripe customers (the two on dup.com included); ambiguous counts domains
    expect(sync.json().counts).toMatchObject({ matched: 3, ambiguous: 1, created: 0 });
    const acme = await cli(['customers', 'show', '--workspace', workspaceId, 'acme.com', '--json']);
    expect(acme.json()).toMatchObject({ mrr: 3000, payment_status: 'none', plan: 'small' });
    const amb = await cli(['billing', 'ambiguous', '--connection', connectionId, '--json']);
    expect(amb.code).toBe(0);
    expect(amb.json()).toHaveLength(1);
    expect(amb.json()[0]).toMatchObject({ domain: 'dup.com', status: 'open' });
  });

  it('settles the ambiguity with a winner, and validates the flags', async () => {
    const [match] = (await cli(['billing', 'ambiguous', '--connection', connectionId, '--json'])).json();
    const noChoice = await cli(['billing', 'resolve', '--match', match.id]);
    expect(noChoice.code).toBe(2);
    expect(noChoice.stderr).toMatch(/give exactly one of --winner STRIPE_CUSTOMER_ID or --split/);
    const wrong = await cli(['billing', 'resolve', '--match', match.id, '--winner', 'cus_nope']);
    expect(wrong.code).toBe(2);
    const winner = match.candidates.find((c: any) => c.mrr === 3000)?.stripe_customer_id ?? match.candidates[0].stripe_customer_id;
    const ok = await cli(['billing', 'resolve', '--match', match.id, '--winner', winner, '--json']);
    expect(ok.code).toBe(0);
    expect((await cli(['billing', 'ambiguous', '--connection', connectionId, '--json'])).json()).toHaveLength(0);
  });
});
