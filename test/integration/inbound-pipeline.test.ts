// The inbound pipeline on the real database: events are unique per provider account (two
// HubSpot portals may use the same event id), retried with backoff until they are dead
// letters shown with their error, and Stripe Connect events reach the connection of their
// `account` through the platform endpoint (signed with the platform secret).
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { connectSource, connectionStatus } from '../../core/sync/connections.ts';
import { recordHubspotEvents } from '../../core/sync/webhooks.ts';
import { MAX_INBOUND_ATTEMPTS, processInboundEvent } from '../../core/inbound/pipeline.ts';
import { handleStripeConnectWebhook } from '../../core/sync/stripe-events.ts';
import { InboundEvent } from '../../core/models/events.ts';

useTestDatabase('inbound');
const saved = { ...process.env };
const PLATFORM_SECRET = 'whsec_platform_test_secret';

beforeAll(() => {
  process.env.STRIPE_CONNECT_WEBHOOK_SECRET = PLATFORM_SECRET;
  resetEnvCache();
});
afterAll(() => {
  process.env = saved;
  resetEnvCache();
});

async function hubspotConnection(portal: string) {
  const ws = await createWorkspace({ name: `Portal ${portal}` });
  return connectSource({ workspaceId: String(ws._id), provider: 'hubspot', authType: 'token', credentials: { accessToken: `pat-${portal}` }, externalAccountId: portal });
}

const hubspotEvent = (portal: string, eventId: string) => ({ eventId, accountId: portal, type: 'company.propertyChange', kind: 'customer' as const, externalId: '101', occurredAt: new Date() });

describe('inbound pipeline', () => {
  it('deduplicates HubSpot events per portal, not across portals', async () => {
    const a = await hubspotConnection('111');
    const b = await hubspotConnection('222');
    expect(await recordHubspotEvents([hubspotEvent('111', '9001'), hubspotEvent('222', '9001')])).toEqual({ accepted: 2, duplicates: 0, ignored: 0 });
    expect(await recordHubspotEvents([hubspotEvent('111', '9001')])).toEqual({ accepted: 0, duplicates: 1, ignored: 0 });
    expect(await InboundEvent.countDocuments({ event_id: '9001', connection_id: { $in: [a._id, b._id] } })).toBe(2);
    // a portal nobody connected is recorded as ignored, never processed
    expect(await recordHubspotEvents([hubspotEvent('333', '9001')])).toEqual({ accepted: 0, duplicates: 0, ignored: 1 });
  });

  it('retries a failing event and keeps it as a dead letter with its error once retries run out', async () => {
    const conn = await hubspotConnection('444');
    await recordHubspotEvents([hubspotEvent('444', '777')]);
    const ev = (await InboundEvent.findOne({ connection_id: conn._id, event_id: '777' }).lean())!;
    const broken = { hubspot: async () => { throw new Error('HubSpot is down'); } };
    for (let i = 1; i < MAX_INBOUND_ATTEMPTS; i++) await expect(processInboundEvent(String(ev._id), broken)).rejects.toThrow('HubSpot is down');
    expect((await InboundEvent.findById(ev._id).lean())!.status).toBe('failed');
    await processInboundEvent(String(ev._id), broken); // the last attempt: no throw, Agenda stops retrying
    expect(await InboundEvent.findById(ev._id).lean()).toMatchObject({ status: 'dead', attempts: MAX_INBOUND_ATTEMPTS, error: 'HubSpot is down' });
    const status = await connectionStatus(String(conn._id));
    expect(status.dead_letters).toEqual([expect.objectContaining({ event_id: '777', error: 'HubSpot is down', attempts: MAX_INBOUND_ATTEMPTS })]);
  });

  it("routes Stripe Connect events by account to that account's connections", async () => {
    const ws = await createWorkspace({ name: 'Connect' });
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'oauth', credentials: { accessToken: 'sk_test_connected', accountId: 'acct_connected1' }, mode: 'test' });
    const payload = JSON.stringify({ id: 'evt_connect_1', object: 'event', account: 'acct_connected1', type: 'customer.updated', livemode: false, created: Math.floor(Date.now() / 1000), data: { object: { id: 'cus_1', object: 'customer' } } });
    const sign = (secret: string) => Stripe.webhooks.generateTestHeaderString({ payload, secret });
    expect((await handleStripeConnectWebhook(Buffer.from(payload), sign('whsec_wrong'))).status).toBe(400);
    const ok = await handleStripeConnectWebhook(Buffer.from(payload), sign(PLATFORM_SECRET));
    expect(ok).toMatchObject({ status: 200, body: { accepted: 1 } });
    expect(await InboundEvent.findOne({ provider: 'stripe', event_id: 'evt_connect_1' }).lean()).toMatchObject({ account_id: 'acct_connected1', connection_id: conn._id, payload: { customer_id: 'cus_1' } });
    // redelivered: recorded once
    expect((await handleStripeConnectWebhook(Buffer.from(payload), sign(PLATFORM_SECRET))).body).toMatchObject({ duplicates: 1 });
  });
});
