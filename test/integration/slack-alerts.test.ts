// Alerts from the domain event feed against the fake Slack: exactly one message per
// transition under duplicated events and two workers, routing to the customer's channel
// else the default (logged as routing_fallback), and Slack's errors handled.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import mongoose from 'mongoose';
import { useTestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { startFakeSlack, validateBlocks, type FakeSlack } from '../fakes/slack.ts';
import { resetEnvCache } from '../../core/env.ts';
import { log } from '../../core/log.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { linkSlackTeam } from '../../core/slack/link.ts';
import { setSlackRetryConfig } from '../../core/slack/client.ts';
import { setCustomerStatus } from '../../core/customers/status.ts';
import { emitDomainEvent } from '../../core/events/emit.ts';
import { dispatchDomainEvent } from '../../core/events/dispatch.ts';
import { sendAlert, SENDING_DEADLINE_MS, sweepStaleDeliveries } from '../../core/alerts/deliver.ts';
import { jobs, eventConsumers } from '../../core/app/composition.ts';
import { startJobProcessor, enqueue, JOBS_COLLECTION } from '../../core/jobs/agenda.ts';
import { AlertDelivery } from '../../core/models/alerts.ts';
import { DomainEvent } from '../../core/models/events.ts';
import { SlackInstallation } from '../../core/models/slack.ts';
import { Workspace } from '../../core/models/workspace.ts';

useTestDatabase('slack_alerts');

const TOKEN = 'xoxb-alerts-team-token';
const DEFAULT = 'C0DEFAULT1';
const saved = { ...process.env };
let fake: FakeSlack;
let seq = 0;

/** A fresh Slack team + workspace + customer, so each test owns its state. */
async function setup(opts: { linkedChannel?: string; channels?: { id: string; name: string; isMember?: boolean; isArchived?: boolean }[] } = {}) {
  seq++;
  const teamId = `T0ALERT${String(seq).padStart(3, '0')}`;
  const token = `${TOKEN}-${seq}`;
  fake.addTeam({ teamId, botToken: token, channels: [{ id: DEFAULT, name: 'cs-alerts', isMember: true }, ...(opts.channels ?? [])] });
  const ws = await createWorkspace({ name: `Alerts ${seq}` });
  await linkSlackTeam({ workspaceId: String(ws._id), teamId, botToken: token, defaultChannelId: DEFAULT });
  const [customer] = await createCustomers(ws._id, [{ name: `Acme ${seq}`, domain: `acme${seq}.test`, slack_channel_id: opts.linkedChannel ?? null, billing: { plan: 'Growth', mrr: 140000, payment_status: 'failing' } }]);
  return { teamId, token, ws, customer: customer! };
}

/** Messages the bot of one team posted successfully to a channel. */
const sentTo = (token: string, channel: string) => fake.callsTo('chat.postMessage').filter((c) => c.token === token && c.args.channel === channel && c.response.ok === true);

async function lastEventId(customerId: mongoose.Types.ObjectId, type: string): Promise<string> {
  const e = await DomainEvent.findOne({ customer_id: customerId, type: type as never }).lean();
  return String(e!._id);
}

beforeAll(async () => {
  fake = await startFakeSlack();
  process.env.SLACK_API_URL = fake.apiUrl;
  resetEnvCache();
  setSlackRetryConfig({ retries: 0 });
});

afterAll(async () => {
  setSlackRetryConfig(undefined);
  await fake?.close();
  process.env = saved;
  resetEnvCache();
});

describe('alerts', () => {
  it('fires once per transition under duplicated events and two workers', async () => {
    const { token, ws, customer } = await setup({ linkedChannel: 'C0ACMECHAN', channels: [{ id: 'C0ACMECHAN', name: 'acme', isMember: true }] });
    const workers = [await startJobProcessor({ jobs, name: 'w1', processEveryMs: 150 }), await startJobProcessor({ jobs, name: 'w2', processEveryMs: 150 })];
    try {
      // The same payment failure reported three times at once (duplicate webhooks).
      const emitted = await Promise.all([1, 2, 3].map(() => emitDomainEvent({ workspaceId: ws._id, customerId: customer._id, type: 'customer.payment_failed', dedupeKey: `pf:${customer._id}:in_1`, data: { invoice: 'in_1' }, actor: { type: 'system', id: 'stripe' } })));
      expect(emitted.filter(Boolean)).toHaveLength(1);
      // A status change applied twice concurrently (double click, two processes).
      await Promise.all([1, 2].map(() => setCustomerStatus({ customerId: customer._id, workspaceId: ws._id, status: 'at_risk', reason: 'champion left', actor: { type: 'user', id: 'u1', name: 'Ann' } }).catch(() => null)));
      // And the dispatch job itself duplicated, as a non-atomic lock could do.
      const pf = await lastEventId(customer._id, 'customer.payment_failed');
      await enqueue('events.dispatch', { event_id: pf });
      await enqueue('events.dispatch', { event_id: pf });
      await until(async () => (await AlertDelivery.countDocuments({ workspace_id: ws._id, status: 'sent' })) === 2);
      // give the duplicates time to run and (not) post
      await until(async () => (await mongoose.connection.db!.collection(JOBS_COLLECTION).countDocuments({ name: 'events.dispatch', nextRunAt: { $ne: null } })) === 0);
      await new Promise((r) => setTimeout(r, 500));
      const posted = sentTo(token, 'C0ACMECHAN');
      expect(posted).toHaveLength(2);
      const texts = posted.map((c) => String(c.args.text)).sort();
      expect(texts[0]).toContain('Marked at risk');
      expect(texts[1]).toContain('Payment failing');
      for (const c of posted) expect(validateBlocks(c.args.blocks, 'message')).toEqual([]);
    } finally {
      await Promise.all(workers.map((w) => w.stop({ drainMs: 2000 })));
    }
  });

  it('routes to the default channel when the customer has none and logs routing_fallback', async () => {
    const info = vi.spyOn(log, 'info');
    const { token, ws, customer } = await setup();
    await setCustomerStatus({ customerId: customer._id, workspaceId: ws._id, status: 'churned', reason: 'budget', actor: { type: 'user', id: 'u1' } });
    await dispatchDomainEvent(await lastEventId(customer._id, 'customer.churned'), eventConsumers);
    expect(sentTo(token, DEFAULT)).toHaveLength(1);
    expect(info.mock.calls.some(([obj, msg]) => msg === 'routing_fallback' && (obj as any).reason === 'no_customer_channel')).toBe(true);
    info.mockRestore();
    // a churned customer gets no further alerts
    await emitDomainEvent({ workspaceId: ws._id, customerId: customer._id, type: 'customer.payment_failed', dedupeKey: `pf:${customer._id}:late`, data: {} });
    await dispatchDomainEvent(await lastEventId(customer._id, 'customer.payment_failed'), eventConsumers);
    expect(sentTo(token, DEFAULT)).toHaveLength(1);
  });

  it('falls back from an archived channel and joins a public channel it is not in', async () => {
    const a = await setup({ linkedChannel: 'C0ARCHIVED', channels: [{ id: 'C0ARCHIVED', name: 'old', isArchived: true }] });
    await setCustomerStatus({ customerId: a.customer._id, workspaceId: a.ws._id, status: 'at_risk', reason: 'x', actor: { type: 'user', id: 'u1' } });
    await dispatchDomainEvent(await lastEventId(a.customer._id, 'customer.at_risk'), eventConsumers);
    expect(sentTo(a.token, DEFAULT)).toHaveLength(1);
    expect((await AlertDelivery.findOne({ workspace_id: a.ws._id }).lean())!.routed_to).toBe('default_channel');

    const b = await setup({ linkedChannel: 'C0NOTJOIN1', channels: [{ id: 'C0NOTJOIN1', name: 'acme-b', isMember: false }] });
    await setCustomerStatus({ customerId: b.customer._id, workspaceId: b.ws._id, status: 'at_risk', reason: 'x', actor: { type: 'user', id: 'u1' } });
    await dispatchDomainEvent(await lastEventId(b.customer._id, 'customer.at_risk'), eventConsumers);
    expect(fake.joinedChannels(b.teamId)).toContain('C0NOTJOIN1');
    expect(sentTo(b.token, 'C0NOTJOIN1')).toHaveLength(1);
  });

  it('marks the installation broken on invalid_auth', async () => {
    const { token, ws, customer, teamId } = await setup();
    fake.revokeToken(token, 'invalid_auth');
    await setCustomerStatus({ customerId: customer._id, workspaceId: ws._id, status: 'at_risk', reason: 'x', actor: { type: 'user', id: 'u1' } });
    await dispatchDomainEvent(await lastEventId(customer._id, 'customer.at_risk'), eventConsumers);
    expect((await SlackInstallation.findOne({ team_id: teamId }).lean())!.status).toBe('broken');
    expect((await AlertDelivery.findOne({ workspace_id: ws._id }).lean())!.status).toBe('failed');
  });

  it('reschedules after ratelimited with Retry-After', async () => {
    const { ws, customer } = await setup();
    fake.rateLimit('chat.postMessage', { times: 1, retryAfterSec: 7 });
    await setCustomerStatus({ customerId: customer._id, workspaceId: ws._id, status: 'at_risk', reason: 'x', actor: { type: 'user', id: 'u1' } });
    const before = Date.now();
    await dispatchDomainEvent(await lastEventId(customer._id, 'customer.at_risk'), eventConsumers);
    const delivery = (await AlertDelivery.findOne({ workspace_id: ws._id }).lean())!;
    expect(delivery.status).toBe('retrying');
    const job = await mongoose.connection.db!.collection(JOBS_COLLECTION).findOne({ name: 'alerts.send', 'data.delivery_id': String(delivery._id) });
    expect(job).not.toBeNull();
    expect(new Date(job!.nextRunAt).getTime()).toBeGreaterThanOrEqual(before + 6_000);
  });

  it('respects the workspace alert toggles', async () => {
    const { token, ws, customer } = await setup();
    await Workspace.updateOne({ _id: ws._id }, { $set: { 'settings.alerts.at_risk': false } });
    await setCustomerStatus({ customerId: customer._id, workspaceId: ws._id, status: 'at_risk', reason: 'x', actor: { type: 'user', id: 'u1' } });
    await dispatchDomainEvent(await lastEventId(customer._id, 'customer.at_risk'), eventConsumers);
    expect(sentTo(token, DEFAULT)).toHaveLength(0);
    expect((await AlertDelivery.findOne({ workspace_id: ws._id }).lean())!.status).toBe('skipped');
  });
});

describe('alerts are at-least-once and posted once', () => {
  it('finds a post whose answer was lost by its metadata instead of posting again', async () => {
    const { token, ws, customer, teamId } = await setup();
    const mine = () => fake.messages(DEFAULT).filter((m) => m.teamId === teamId);
    fake.loseResponses('chat.postMessage', { times: 1 });
    await setCustomerStatus({ customerId: customer._id, workspaceId: ws._id, status: 'at_risk', reason: 'x', actor: { type: 'user', id: 'u1' } });
    await dispatchDomainEvent(await lastEventId(customer._id, 'customer.at_risk'), eventConsumers);
    // Slack posted it, but Pivotal could not tell: the delivery waits for its retry.
    expect(mine()).toHaveLength(1);
    const delivery = (await AlertDelivery.findOne({ workspace_id: ws._id }).lean())!;
    expect(delivery.status).toBe('retrying');
    // The retry job's attempt reads the channel and recognises its own message.
    await sendAlert(String(delivery._id));
    const after = (await AlertDelivery.findOne({ _id: delivery._id }).lean())!;
    expect(after.status).toBe('sent');
    expect(after.message_ts).toBe(mine()[0]!.ts);
    expect(mine()).toHaveLength(1);
    expect(fake.callsTo('chat.postMessage').filter((c) => c.token === token)).toHaveLength(1); // the post whose answer was lost
    expect(fake.callsTo('conversations.history').some((c) => c.token === token && c.args.include_all_metadata)).toBe(true);
  });

  it('retries a sending claim whose attempt died, once its deadline has passed', async () => {
    const { token, ws, customer } = await setup();
    await setCustomerStatus({ customerId: customer._id, workspaceId: ws._id, status: 'at_risk', reason: 'x', actor: { type: 'user', id: 'u1' } });
    const event = (await DomainEvent.findOne({ customer_id: customer._id, type: 'customer.at_risk' }).lean())!;
    // A worker claimed the delivery and was killed before posting.
    const dead = await AlertDelivery.create({ key: `slack:${event.dedupe_key}`, workspace_id: ws._id, customer_id: customer._id, event_id: event._id, kind: 'at_risk', status: 'sending', attempts: 1, claimed_at: new Date() });
    // Within the deadline nobody else may take it.
    expect(await sendAlert(String(dead._id))).toBeNull();
    expect(sentTo(token, DEFAULT)).toHaveLength(0);
    await AlertDelivery.updateOne({ _id: dead._id }, { $set: { claimed_at: new Date(Date.now() - SENDING_DEADLINE_MS - 1000) } });
    expect(await sweepStaleDeliveries()).toBeGreaterThanOrEqual(1);
    const job = await mongoose.connection.db!.collection(JOBS_COLLECTION).findOne({ name: 'alerts.send', 'data.delivery_id': String(dead._id) });
    expect(job).not.toBeNull();
    await sendAlert(String(dead._id));
    expect(sentTo(token, DEFAULT)).toHaveLength(1);
    expect((await AlertDelivery.findById(dead._id).lean())!.status).toBe('sent');
    // a duplicate of that job finds the delivery finished and sends nothing
    await sendAlert(String(dead._id));
    expect(sentTo(token, DEFAULT)).toHaveLength(1);
  });
});
