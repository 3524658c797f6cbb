// Stripe as the customer source (PLG workspaces), through the real SDK against the fake:
// Stripe customers become Pivotal customers with their billing fields, status writes
// back to customer metadata only when writeback is switched on, and nothing ever writes
// to subscriptions, invoices, prices or payments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { connectSource, updateConnectionSettings } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { writebackCustomer } from '../../core/sync/writeback-queue.ts';
import { Customer } from '../../core/models/customer.ts';
import { Contact } from '../../core/models/contact.ts';
import { attachBilling } from '../../core/billing/store.ts';
import { handleStripeWebhook } from '../../core/sync/stripe-events.ts';
import { processInboundEvent } from '../../core/inbound/pipeline.ts';
import { inboundProcessors } from '../../core/app/composition.ts';
import { InboundEvent } from '../../core/models/events.ts';

useTestDatabase('stripe_source');
let fake: FakeStripe;
let connectionId = '';
let workspaceId = '';
const ids: Record<string, string> = {};

beforeAll(async () => {
  fake = await startFakeStripe();
  process.env.STRIPE_API_BASE_URL = fake.url;
  resetEnvCache();
  const b = fake.book();
  const product = b.insertProduct({ name: 'Pro' }).id as string;
  const price = b.insertPrice({ product, unit_amount: 4900, currency: 'usd', recurring: { interval: 'month', interval_count: 1 }, lookup_key: 'pro' }).id as string;
  ids.ada = b.insertCustomer({ email: 'ada@analytical.io', name: 'Analytical Engines' }).id as string;
  ids.bob = b.insertCustomer({ email: 'bob@gmail.com', name: 'Bob Builder' }).id as string;
  b.insertSubscription({ customer: ids.ada, items: [{ price, quantity: 2 }] } as any);
  b.insertSubscription({ customer: ids.bob, items: [{ price }] } as any);
  // A second payer on gmail.com is a customer of its own, not a duplicate of Bob.
  ids.eve = b.insertCustomer({ email: 'eve@gmail.com', name: 'Eve Online' }).id as string;
  b.insertSubscription({ customer: ids.eve, items: [{ price }], status: 'trialing' } as any);
  // Outside the source filter (no live subscription): a sign-up that never paid, and a cancellation.
  ids.carol = b.insertCustomer({ email: 'carol@signup.dev', name: 'Carol Signup' }).id as string;
  ids.dave = b.insertCustomer({ email: 'dave@gone.dev', name: 'Dave Gone' }).id as string;
  b.insertSubscription({ customer: ids.dave, items: [{ price }], status: 'canceled' } as any);
  const ws = await createWorkspace({ name: 'PLG' });
  workspaceId = String(ws._id);
  const conn = await connectSource({ workspaceId, provider: 'stripe', role: 'customer_source', authType: 'token', credentials: { accessToken: fake.secretKey }, mode: 'test' });
  connectionId = String(conn._id);
});

afterAll(async () => {
  await fake?.close();
  delete process.env.STRIPE_API_BASE_URL;
  resetEnvCache();
});

describe('Stripe as the customer source', () => {
  it('validate lists the Stripe customers without a live subscription in scope, and writes nothing', async () => {
    const v = await runSync({ connectionId, kind: 'validate', trigger: 'test' });
    expect(v.counts).toMatchObject({ unmatched: 3, skipped: 2, errors: 0 });
    const problems = (v.problems as { record_id: string; problem: string }[]).map((p) => `${p.record_id}: ${p.problem}`).sort();
    expect(problems).toEqual([ids.carol, ids.dave].map((id) => `${id}: no live subscription in the subscription scope`).sort());
    expect(await Customer.countDocuments({ workspace_id: workspaceId })).toBe(0);
  });

  it('creates a customer per Stripe customer (no contacts) with billing fields attached', async () => {
    const summary = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(summary.status).toBe('succeeded');
    expect(summary.counts).toMatchObject({ created: 3, skipped: 2, errors: 0 });
    const customers = await attachBilling(await Customer.find({ workspace_id: workspaceId }).sort({ name: 1 }).lean());
    expect(customers.map((c) => c.name)).toEqual(['Analytical Engines', 'Bob Builder', 'Eve Online']);
    expect(customers[2]!.billing).toMatchObject({ mrr: 0, plan: 'pro', stripe_customer_id: ids.eve }); // trialing: a customer, no MRR yet
    const ada = customers[0]!;
    expect(ada.billing).toMatchObject({ mrr: 9800, plan: 'pro', stripe_customer_id: ids.ada, stripe_livemode: false });
    // a personal-email customer is still a customer when Stripe is the source
    expect(customers[1]!.billing).toMatchObject({ mrr: 4900, stripe_customer_id: ids.bob });
    expect(await Contact.countDocuments({ workspace_id: workspaceId })).toBe(0);
  });

  it('writes status back only when writeback is on, and only to customer metadata', async () => {
    const ada = await Customer.findOne({ workspace_id: workspaceId, name: 'Analytical Engines' }).lean();
    fake.clearLogs();
    expect(await writebackCustomer(String(ada!._id), { status: 'at_risk' })).toMatchObject({ written: false, reason: 'writeback is off' });
    expect(fake.writes).toHaveLength(0);

    await updateConnectionSettings(connectionId, { writeback: true });
    expect(await writebackCustomer(String(ada!._id), { status: 'at_risk', plan: 'enterprise' })).toMatchObject({ written: true });
    expect(fake.writes.map((w) => `${w.method} ${w.path}`)).toEqual([`POST /v1/customers/${ids.ada}`]);
    expect(fake.writes[0]!.params).toMatchObject({ metadata: { pivotal_status: 'at_risk' } });
    expect(fake.writes.every((w) => w.resource === 'customers')).toBe(true);

    // and the echo of our own write is not an edit: a later sync leaves the customer alone
    const again = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(again.counts.updated).toBe(0);
    expect(fake.writes.every((w) => w.resource === 'customers')).toBe(true);
  });

  it('follows Stripe webhooks: new customers appear with their billing, edits apply newest-first, deletions archive', async () => {
    const ws = await createWorkspace({ name: 'PLG hooks' });
    const account = fake.addAccount({ name: 'PLG hooks' });
    const key = 'rk_test_plghooksaccount00001';
    fake.addApiKey(key, { mode: 'test', account, restricted: true });
    const secret = 'whsec_plg_hooks_secret';
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'customer_source', authType: 'token', credentials: { accessToken: key }, mode: 'test', webhookSecret: secret });
    const b = fake.book(account, false);
    const product = b.insertProduct({ name: 'Team' }).id as string;
    const price = b.insertPrice({ product, unit_amount: 2500, currency: 'usd', recurring: { interval: 'month', interval_count: 1 }, lookup_key: 'team' }).id as string;
    const deliver = async (event: object) => {
      const body = JSON.stringify(event);
      const status = (await handleStripeWebhook(String(conn._id), Buffer.from(body), fake.signPayload(body, secret))).status;
      // what the worker's inbound.process job then does
      for (const e of await InboundEvent.find({ status: 'received' }, { _id: 1 }).lean()) await processInboundEvent(String(e._id), inboundProcessors);
      return status;
    };
    const customers = async () => (await attachBilling(await Customer.find({ workspace_id: ws._id }).lean())).map((c) => ({ name: c.name, status: c.status, mrr: c.billing?.mrr ?? null }));

    const created = b.createCustomer({ email: 'founder@newco.dev', name: 'NewCo' });
    const id = (created.data.object as { id: string }).id;
    expect(await deliver(created)).toBe(200);
    expect(await customers()).toEqual([]); // signed up, not subscribed yet
    const subscribed = b.createSubscription({ customer: id, items: [{ price, quantity: 3 }] });
    expect(await deliver(subscribed)).toBe(200);
    expect(await customers()).toEqual([{ name: 'NewCo', status: 'active', mrr: 7500 }]);

    // Cancelling the only subscription takes the customer out of the filter; a new one brings it back.
    const subId = (subscribed.data.object as { id: string }).id;
    expect(await deliver(b.cancelSubscription(subId))).toBe(200);
    expect((await Customer.findOne({ workspace_id: ws._id }).lean())).toMatchObject({ status: 'archived', archived_reason: 'left_filter' });
    expect(await deliver(b.createSubscription({ customer: id, items: [{ price, quantity: 3 }] }))).toBe(200);
    expect(await customers()).toEqual([{ name: 'NewCo', status: 'active', mrr: 7500 }]);

    const renamedFirst = b.updateCustomer(id, { name: 'NewCo Labs' });
    const renamedAgain = b.updateCustomer(id, { name: 'NewCo Inc' });
    expect(await deliver(renamedAgain)).toBe(200);
    expect(await deliver(renamedFirst)).toBe(200); // late: the re-read still finds the newest name
    expect(await customers()).toEqual([{ name: 'NewCo Inc', status: 'active', mrr: 7500 }]);

    expect(await deliver(b.deleteCustomer(id))).toBe(200);
    expect((await customers()).map((c) => c.status)).toEqual(['archived']);
    expect(fake.writes.filter((w) => w.path.includes(id))).toEqual([]);
  });
});
