// Stripe as billing signal against the fake Stripe (real SDK): a seeded book whose expected
// billing per domain is worked out by hand below, ambiguity resolution, and webhooks
// (duplicate, replayed, stale-signed, out-of-order) with one payment-failing signal each.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { Workspace } from '../../core/models/workspace.ts';
import { Connection } from '../../core/models/connection.ts';
import { AmbiguousMatch } from '../../core/models/sync.ts';
import { DomainEvent, InboundEvent } from '../../core/models/events.ts';
import { Activity } from '../../core/models/activity.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { resolveAmbiguousMatch, resolveWorkspaceAmbiguity, workspaceAmbiguities } from '../../core/sync/billing-ambiguous.ts';
import { customerView } from '../../core/customers/view.ts';
import { stripeWebhookRouter } from '../../portal/http/stripe-webhooks.ts';
import { INBOUND_PROCESS_JOB, processInboundEvent, sweepInboundEvents } from '../../core/inbound/pipeline.ts';
import { inboundProcessors } from '../../core/app/composition.ts';

/** What the worker does after a webhook is answered: process every recorded event once. */
async function processRecorded(): Promise<void> {
  for (const e of await InboundEvent.find({ status: 'received' }, { _id: 1 }).lean()) await processInboundEvent(String(e._id), inboundProcessors).catch(() => {});
}
import { attachBilling } from '../../core/billing/store.ts';
import { Types } from 'mongoose';

useTestDatabase('stripe_billing');

let fake: FakeStripe;
let server: http.Server;
let hookUrl: string;
let workspaceId: string;
let connectionId: string;
const WHSEC = 'whsec_test_pivotal_billing';
const ids: Record<string, string> = {};
const DAY = 86400;

beforeAll(async () => {
  fake = await startFakeStripe();
  process.env.STRIPE_API_BASE_URL = fake.url;
  resetEnvCache();
  const app = express();
  app.use(stripeWebhookRouter);
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;

  const ws = await createWorkspace({ name: 'Billing Co' });
  workspaceId = String(ws._id);
  await Workspace.updateOne({ _id: ws._id }, { $set: { 'settings.fx_rates_usd': { eur: 1.1 } } });
  await createCustomers(ws._id, ['acme.com', 'beta.io', 'trial.dev', 'gone.com', 'late.com', 'dup.com', 'yen.jp', 'quiet.com'].map((d) => ({ name: d.split('.')[0]!, domain: d })));

  const b = fake.book();
  const now = fake.now();
  const prod = (name: string) => b.insertProduct({ name }).id as string;
  const price = (product: string, unit_amount: number, interval: 'day' | 'week' | 'month' | 'year', extra: { interval_count?: number; currency?: string; lookup_key?: string } = {}) =>
    b.insertPrice({ product, unit_amount, currency: extra.currency ?? 'usd', recurring: { interval, interval_count: extra.interval_count ?? 1 }, lookup_key: extra.lookup_key ?? null }).id as string;
  const pGrowth = price(prod('Growth'), 5000, 'month', { lookup_key: 'growth' });
  const pAddons = price(prod('Addons'), 30000, 'month', { interval_count: 3 });
  const pAnnualEu = price(prod('Annual EU'), 120000, 'year', { currency: 'eur' });
  const pTrial = price(prod('Trial'), 9900, 'month', { lookup_key: 'trial_plan' });
  const pWeekly = price(prod('Weekly'), 1000, 'week');
  const pSmall = price(prod('Small'), 1000, 'month', { lookup_key: 'small' });
  const pBig = price(prod('Big'), 3000, 'month', { lookup_key: 'big' });
  const pYen = price(prod('Yen'), 10000, 'month', { currency: 'jpy' });
  const pct20 = b.insertCoupon({ percent_off: 20, duration: 'forever' }).id as string;

  const cust = (key: string, email: string) => (ids[key] = b.insertCustomer({ email, name: key }).id as string);
  const sub = (key: string, customer: string, items: { price: string; quantity?: number }[], extra: Record<string, unknown> = {}) =>
    (ids[key] = b.insertSubscription({ customer, items, ...extra } as any).id as string);
  const paid = (customer: string, subscription: string) => b.insertInvoice({ customer, subscription, status: 'paid', created: now - DAY });

  cust('acme', 'ops@acme.com');
  sub('acme_growth', ids.acme!, [{ price: pGrowth, quantity: 2 }], { coupons: [pct20], start_date: now - 100 * DAY, created: now - 100 * DAY });
  sub('acme_addons', ids.acme!, [{ price: pAddons }], { start_date: now - 400 * DAY, created: now - 400 * DAY });
  paid(ids.acme!, ids.acme_growth!);
  paid(ids.acme!, ids.acme_addons!);
  cust('beta', 'billing@Beta.IO');
  sub('beta_sub', ids.beta!, [{ price: pAnnualEu }], { start_date: now - 50 * DAY, created: now - 50 * DAY });
  paid(ids.beta!, ids.beta_sub!);
  cust('trial', 'x@trial.dev');
  sub('trial_sub', ids.trial!, [{ price: pTrial }], { status: 'trialing', start_date: now - 5 * DAY, created: now - 5 * DAY });
  cust('gone', 'y@gone.com');
  sub('gone_sub', ids.gone!, [{ price: pGrowth }], { status: 'canceled', start_date: now - 300 * DAY, created: now - 300 * DAY, canceled_at: now - 10 * DAY });
  cust('late', 'z@late.com');
  sub('late_sub', ids.late!, [{ price: pWeekly }], { status: 'past_due', start_date: now - 30 * DAY, created: now - 30 * DAY });
  ids.late_inv = b.insertInvoice({ customer: ids.late!, subscription: ids.late_sub!, status: 'open', attempt_count: 1, created: now - DAY }).id;
  cust('dup1', 'a@dup.com');
  cust('dup2', 'b@dup.com');
  sub('dup1_sub', ids.dup1!, [{ price: pSmall }], { start_date: now - 20 * DAY, created: now - 20 * DAY });
  sub('dup2_sub', ids.dup2!, [{ price: pBig }], { start_date: now - 10 * DAY, created: now - 10 * DAY });
  cust('yen', 'k@yen.jp');
  sub('yen_sub', ids.yen!, [{ price: pYen }], { start_date: now - 7 * DAY, created: now - 7 * DAY });
  cust('nomatch', 'n@nomatch.org');
  sub('nomatch_sub', ids.nomatch!, [{ price: pSmall }]);
  cust('lonely', 'signup@lonely.com'); // a Stripe customer with no subscription: no billing, listed by validate
  cust('personal', 'someone@gmail.com');
  sub('personal_sub', ids.personal!, [{ price: pSmall }]);
  ids.now = String(now);

  const conn = await connectSource({ workspaceId, provider: 'stripe', role: 'billing_signal', authType: 'token', credentials: { accessToken: fake.secretKey }, mode: 'test', webhookSecret: WHSEC });
  connectionId = String(conn._id);
  hookUrl = `http://127.0.0.1:${port}/webhooks/stripe/${connectionId}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await fake?.close();
  delete process.env.STRIPE_API_BASE_URL;
  resetEnvCache();
});

async function byDomain(domain: string) {
  const all = await attachBilling(await Customer.find({ workspace_id: workspaceId, domain }).sort({ display_id: 1 }).lean());
  return all.map(customerView);
}

describe('validate and preview', () => {
  it('validate lists the problem records and writes nothing', async () => {
    fake.clearLogs();
    const v = await runSync({ connectionId, kind: 'validate', trigger: 'test' });
    expect(v.status).toBe('succeeded');
    expect(v.counts).toMatchObject({ skipped: 1, ambiguous: 2 });
    const problems = (v.problems as { record_id: string; problem: string }[]).map((p) => `${p.record_id}: ${p.problem}`).sort();
    expect(problems).toEqual([
      `${ids.dup1}: 2 Stripe customers share the domain dup.com`,
      `${ids.dup2}: 2 Stripe customers share the domain dup.com`,
      `${ids.lonely}: no subscription in the subscription scope`,
      `${ids.personal}: personal email domain gmail.com`,
    ].sort());
    expect(await Customer.countDocuments({ workspace_id: new Types.ObjectId(workspaceId), 'billing.synced_at': { $ne: null } })).toBe(0);
    expect(fake.writes).toEqual([]);
  });

  it('preview syncs the first 10 Stripe customers and says what became of each', async () => {
    const p = await runSync({ connectionId, kind: 'preview', trigger: 'test' });
    expect(p.status).toBe('succeeded');
    const outcomes = Object.fromEntries((p.results as { stripe_customer_id: string; outcome: string }[]).map((r) => [r.stripe_customer_id, r.outcome]));
    expect(Object.keys(outcomes)).toHaveLength(10);
    expect(outcomes).toMatchObject({
      [ids.acme!]: 'matched acme',
      [ids.dup1!]: 'matched dup',
      [ids.dup2!]: 'matched dup',
      [ids.nomatch!]: 'unmatched: no Pivotal customer has this domain',
      [ids.personal!]: 'personal email domain gmail.com',
    });
    expect((await byDomain('acme.com'))[0]!.mrr).toBe(2 * 5000 * 0.8 + 30000 / 3);
    expect(await DomainEvent.countDocuments({ type: 'customer.payment_failed' })).toBe(0);
    expect((await Connection.findById(connectionId).lean())!.first_full_sync_at ?? null).toBeNull(); // the match key can still change
    expect(fake.writes).toEqual([]);
  });
});

describe('full billing sync', () => {
  it('attaches plan, mrr, payment status and start date exactly', async () => {
    fake.clearLogs();
    const run = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ matched: 8, unmatched: 1, skipped: 1, ambiguous: 1, errors: 0 });

    const now = Number(ids.now);
    const day = (n: number) => new Date((now - n * DAY) * 1000).toISOString();
    // Worked out by hand from the seed: quantity × unit, /3 quarterly, /12 annual, ×52/12 weekly, FX, 20 % off.
    const expected: Record<string, { mrr: number; plan: string | null; payment_status: string; billing_started_at: string | null; stripe_customer_id: string }> = {
      'acme.com': { mrr: 2 * 5000 * 0.8 + 30000 / 3, plan: 'Addons', payment_status: 'paid', billing_started_at: day(400), stripe_customer_id: ids.acme! },
      'beta.io': { mrr: (120000 * 1.1) / 12, plan: 'Annual EU', payment_status: 'paid', billing_started_at: day(50), stripe_customer_id: ids.beta! },
      'trial.dev': { mrr: 0, plan: 'trial_plan', payment_status: 'none', billing_started_at: day(5), stripe_customer_id: ids.trial! },
      'gone.com': { mrr: 0, plan: null, payment_status: 'none', billing_started_at: day(300), stripe_customer_id: ids.gone! },
      'late.com': { mrr: Math.round((1000 * 52) / 12), plan: 'Weekly', payment_status: 'failing', billing_started_at: day(30), stripe_customer_id: ids.late! },
      'dup.com': { mrr: 1000 + 3000, plan: 'big', payment_status: 'none', billing_started_at: day(20), stripe_customer_id: ids.dup2! },
      'yen.jp': { mrr: Math.round(10000 * 0.0067 * 100), plan: 'Yen', payment_status: 'none', billing_started_at: day(7), stripe_customer_id: ids.yen! },
    };
    for (const [domain, exp] of Object.entries(expected)) {
      const [c] = await byDomain(domain);
      expect({ domain, mrr: c!.mrr, plan: c!.plan, payment_status: c!.payment_status, billing_started_at: c!.billing_started_at, stripe_customer_id: c!.stripe_customer_id })
        .toEqual({ domain, ...exp });
      expect(c!.stripe_dashboard_url).toBe(`https://dashboard.stripe.com/test/customers/${exp.stripe_customer_id}`);
    }
    const [quiet] = await byDomain('quiet.com');
    expect(quiet!.mrr).toBeNull();
    // Initial states are not transitions: no payment-failing signal for late.com yet.
    expect(await DomainEvent.countDocuments({ type: 'customer.payment_failed' })).toBe(0);
    // Read-only by design: not a single write reached Stripe.
    expect(fake.writes).toEqual([]);
    const amb = await AmbiguousMatch.find({ connection_id: connectionId }).lean();
    expect(amb.map((a) => [a.domain, a.status, (a.candidates as any[]).length])).toEqual([['dup.com', 'open', 2]]);
  });

  it('a second run changes nothing', async () => {
    const run = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(run.counts).toMatchObject({ matched: 8, updated: 0, unchanged: 7 });
  });
});

describe('ambiguous matches', () => {
  it('a winner stops the merge, and later syncs respect it', async () => {
    const amb = await AmbiguousMatch.findOne({ connection_id: connectionId, domain: 'dup.com' }).lean();
    await resolveAmbiguousMatch({ id: String(amb!._id), winner: ids.dup1! });
    expect((await byDomain('dup.com'))[0]).toMatchObject({ mrr: 1000, plan: 'small', stripe_customer_id: ids.dup1 });
    const run = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(run.counts.ambiguous).toBe(0);
    expect((await byDomain('dup.com'))[0]).toMatchObject({ mrr: 1000, stripe_customer_id: ids.dup1 });
  });

  it('a split gives each Stripe customer its own Pivotal customer', async () => {
    const amb = await AmbiguousMatch.findOne({ connection_id: connectionId, domain: 'dup.com' }).lean();
    await AmbiguousMatch.updateOne({ _id: amb!._id }, { $set: { status: 'open', resolution: null } });
    await resolveAmbiguousMatch({ id: String(amb!._id), split: true });
    await runSync({ connectionId, kind: 'full', trigger: 'test' });
    const rows = await byDomain('dup.com');
    expect(rows.map((r) => [r.stripe_customer_id, r.mrr]).sort()).toEqual([[ids.dup1, 1000], [ids.dup2, 3000]].sort());
    // The customer the split created (not the original) is announced once as customer.created.
    const created = await DomainEvent.find({ type: 'customer.created', customer_id: { $in: rows.map((r) => r.id) } }).lean();
    expect(created.map((e) => String(e.customer_id))).toEqual([rows.find((r) => r.id !== String(amb!.customer_id))!.id]);
  });
});

describe('webhooks', () => {
  const signals = () => DomainEvent.countDocuments({ type: 'customer.payment_failed' });

  it('a payment failure raises one signal; duplicates and replays do not add any', async () => {
    const invoice = fake.createInvoice({ customer: ids.acme!, subscription: ids.acme_growth!, status: 'open' }).data.object;
    await fake.deliverEvent(hookUrl, fake.events.at(-1)!, WHSEC);
    await processRecorded();
    expect((await byDomain('acme.com'))[0]!.payment_status).toBe('paid'); // open, not yet attempted
    const failed = fake.failInvoicePayment(invoice.id);
    expect(await fake.deliverEvent(hookUrl, failed, WHSEC)).toBe(200);
    await processRecorded();
    expect((await byDomain('acme.com'))[0]!.payment_status).toBe('failing');
    expect(await signals()).toBe(1);
    const acmeId = (await byDomain('acme.com'))[0]!.id;
    const billingRows = () => Activity.find({ customer_id: acmeId, field: /^billing\./ }).lean();
    expect((await billingRows()).map((a) => [a.actor, a.actor_type, a.field, a.old_value, a.new_value])).toEqual([[`stripe:${connectionId}`, 'sync', 'billing.payment_status', 'paid', 'failing']]);
    // Stripe delivers the same event again, and the subscription's own past_due event too.
    expect(await fake.deliverEvent(hookUrl, failed, WHSEC)).toBe(200);
    await processRecorded();
    const pastDue = fake.events.filter((e) => e.type === 'customer.subscription.updated').at(-1)!;
    expect(await fake.deliverEvent(hookUrl, pastDue, WHSEC)).toBe(200);
    await processRecorded();
    expect(await fake.deliverEvent(hookUrl, pastDue, WHSEC)).toBe(200);
    await processRecorded();
    expect(await signals()).toBe(1);
    expect(await billingRows()).toHaveLength(1); // re-deliveries changed nothing, so no row
    const ev = await DomainEvent.findOne({ type: 'customer.payment_failed' }).lean();
    expect(ev!.dedupe_key).toBe(`payment_failed:${(await byDomain('acme.com'))[0]!.id}:${invoice.id}`);
    expect(await InboundEvent.countDocuments({ event_id: failed.id, connection_id: connectionId })).toBe(1);
  });

  it('rejects stale, forged and unsigned deliveries with 400 and records nothing', async () => {
    const ev = fake.updateCustomer(ids.beta!, { name: 'Beta GmbH' });
    const before = await InboundEvent.countDocuments();
    expect(await fake.deliverEvent(hookUrl, ev, WHSEC, { timestamp: fake.now() - 600 })).toBe(400);
    expect(await fake.deliverEvent(hookUrl, ev, 'whsec_wrong')).toBe(400);
    const res = await fetch(hookUrl, { method: 'POST', body: JSON.stringify(ev), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((await fetch(hookUrl.replace(connectionId, 'nope'), { method: 'POST', body: '{}' })).status).toBe(404);
    expect(await InboundEvent.countDocuments()).toBe(before);
  });

  it('out of order: an old failure arriving after the recovery leaves the customer paid', async () => {
    const invoice = fake.createInvoice({ customer: ids.beta!, subscription: ids.beta_sub!, status: 'open' }).data.object;
    const failed = fake.failInvoicePayment(invoice.id);
    const recovered = fake.payInvoice(invoice.id);
    expect(await fake.deliverEvent(hookUrl, recovered, WHSEC)).toBe(200);
    await processRecorded();
    expect(await fake.deliverEvent(hookUrl, failed, WHSEC)).toBe(200);
    await processRecorded();
    const [beta] = await byDomain('beta.io');
    expect(beta!.payment_status).toBe('paid');
    expect(await signals()).toBe(1); // still only acme's
  });

  it('late.com recovering and failing again on a new invoice is a new transition', async () => {
    fake.payInvoice(ids.late_inv!);
    const next = fake.createInvoice({ customer: ids.late!, subscription: ids.late_sub!, status: 'open' }).data.object;
    const failed = fake.failInvoicePayment(next.id);
    expect(await fake.deliverEvent(hookUrl, failed, WHSEC)).toBe(200);
    await processRecorded();
    expect((await byDomain('late.com'))[0]!.payment_status).toBe('failing');
    expect(await signals()).toBe(2);
    // A reconcile afterwards finds the same state and raises nothing new.
    await runSync({ connectionId, kind: 'reconcile', trigger: 'test' });
    expect(await signals()).toBe(2);
    expect(fake.writes).toEqual([]);
  });
});

describe('webhooks whose processing fails', () => {
  it('are answered 200 (recorded), kept as failed and retried with backoff until the newest state lands', async () => {
    const ev = fake.updateSubscription(ids.trial_sub!, { status: 'active' }); // the trial converts: MRR 0 → 99.00
    fake.failNext(1, 400, { shouldRetry: false, message: 'Stripe hiccup' });
    expect(await fake.deliverEvent(hookUrl, ev, WHSEC)).toBe(200);
    const recorded = (await InboundEvent.findOne({ event_id: ev.id, connection_id: connectionId }).lean())!;
    expect(recorded).toMatchObject({ status: 'received', account_id: null });
    // The job throws so Agenda retries it with its backoff; the event says why.
    await expect(processInboundEvent(String(recorded._id), inboundProcessors)).rejects.toThrow('Stripe hiccup');
    const failed = await InboundEvent.findById(recorded._id).lean();
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, payload: { customer_id: ids.trial } });
    expect((await byDomain('trial.dev'))[0]!.mrr).toBe(0);
    await processInboundEvent(String(recorded._id), inboundProcessors);
    expect(await InboundEvent.findById(recorded._id).lean()).toMatchObject({ status: 'processed', attempts: 2, error: null });
    expect((await byDomain('trial.dev'))[0]).toMatchObject({ mrr: 9900, plan: 'trial_plan' });
    // A redelivery of the processed event stays a duplicate.
    expect(await fake.deliverEvent(hookUrl, ev, WHSEC)).toBe(200);
    expect(await InboundEvent.countDocuments({ event_id: ev.id, connection_id: connectionId })).toBe(1);
  });

  it('events a crashed process left unprocessed are swept up after a grace period', async () => {
    const stuck = await InboundEvent.create({
      provider: 'stripe', event_id: 'evt_stuck', connection_id: new Types.ObjectId(connectionId), workspace_id: new Types.ObjectId(workspaceId),
      type: 'customer.updated', payload: { id: 'evt_stuck', type: 'customer.updated', customer_id: ids.acme },
    });
    await InboundEvent.db.collection('agenda_jobs').deleteMany({ name: INBOUND_PROCESS_JOB });
    expect(await sweepInboundEvents(60_000)).toBe(0); // still within its grace period
    expect(await sweepInboundEvents(0)).toBe(1);
    expect(await sweepInboundEvents(0)).toBe(1);
    expect(await InboundEvent.db.collection('agenda_jobs').countDocuments({ name: INBOUND_PROCESS_JOB, 'data.inbound_event_id': String(stuck._id) })).toBe(1); // one pending job, not two
    await processInboundEvent(String(stuck._id), inboundProcessors);
    expect(await sweepInboundEvents(0)).toBe(0);
  });
});

describe('a later walk after changes in Stripe and in the FX table', () => {
  it('rewrites what changed and clears what this connection stopped billing', async () => {
    fake.updateCustomer(ids.yen!, { email: 'k@elsewhere.example' }); // yen.jp no longer matches
    await Workspace.updateOne({ _id: new Types.ObjectId(workspaceId) }, { $set: { 'settings.fx_rates_usd': { eur: 1.2 } } });
    const run = await runSync({ connectionId, kind: 'reconcile', trigger: 'test' });
    expect(run.status).toBe('succeeded');
    expect((await byDomain('beta.io'))[0]).toMatchObject({ mrr: (120000 * 1.2) / 12, payment_status: 'paid' });
    expect((await byDomain('yen.jp'))[0]).toMatchObject({ mrr: null, plan: null, payment_status: 'none', stripe_customer_id: null });
    expect((await byDomain('acme.com'))[0]!.stripe_customer_id).toBe(ids.acme);
    await Workspace.updateOne({ _id: new Types.ObjectId(workspaceId) }, { $set: { 'settings.fx_rates_usd': { eur: 1.1 } } });
  });
});

describe('settling from the portal', () => {
  it('is scoped to the workspace, and the decision is kept even when Stripe cannot be reached to recompute at once', async () => {
    await createCustomers(new Types.ObjectId(workspaceId), [{ name: 'Pair', domain: 'pair.net' }]);
    const b = fake.book();
    const product = b.insertProduct({ name: 'Pair plan' }).id as string;
    const price = (cents: number) => b.insertPrice({ product, unit_amount: cents, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
    const small = b.insertCustomer({ email: 'a@pair.net', name: 'Pair A' }).id as string;
    const big = b.insertCustomer({ email: 'b@pair.net', name: 'Pair B' }).id as string;
    b.insertSubscription({ customer: small, items: [{ price: price(700) }] } as any);
    b.insertSubscription({ customer: big, items: [{ price: price(2500) }] } as any);
    await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect((await byDomain('pair.net')).map((r) => r.mrr)).toEqual([3200]);
    const open = await workspaceAmbiguities(workspaceId);
    expect(open.map((m) => [m.domain, m.merged_mrr, m.candidates.map((c) => [c.stripe_customer_id, c.mrr])])).toEqual([['pair.net', 3200, [[big, 2500], [small, 700]]]]);
    expect(open[0]!.candidates[0]!.dashboard_url).toBe(`https://dashboard.stripe.com/test/customers/${big}`);

    const other = await createWorkspace({ name: 'Someone Else' });
    await expect(resolveWorkspaceAmbiguity(String(other._id), { id: open[0]!.id, split: true })).rejects.toThrow('does not exist in your workspace');
    fake.failNext(1, 400, { shouldRetry: false, message: 'Stripe is having a bad day' });
    const r = await resolveWorkspaceAmbiguity(workspaceId, { id: open[0]!.id, winner: big });
    expect(r.recomputed).toBe(false);
    expect(r.message).toMatch(new RegExp(`^pair\\.net: billing now comes from ${big} only\\. Billing could not be recomputed now \\(.*\\); the next sync applies it\\.$`));
    expect(await workspaceAmbiguities(workspaceId)).toEqual([]);
    await expect(resolveWorkspaceAmbiguity(workspaceId, { id: open[0]!.id, split: true })).rejects.toThrow('pair.net was already settled');
    await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect((await byDomain('pair.net')).map((r) => [r.stripe_customer_id, r.mrr])).toEqual([[big, 2500]]);
  });
});
