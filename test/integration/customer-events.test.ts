// customer.created / customer.updated outbound events from syncs: the real HubSpot SDK
// against its fake, the real engine, a real Agenda worker running the event fan-out and
// webhook delivery jobs, and a loopback receiver subscribed to both event types.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace, upsertMember } from '../../core/workspaces/workspaces.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { DomainEvent } from '../../core/models/events.ts';
import { Customer } from '../../core/models/customer.ts';
import { eventJobs } from '../../core/events/dispatch.ts';
import { defineWebhookJobs, outboundWebhooksConsumer } from '../../core/webhooks/deliver.ts';
import { createEndpoint } from '../../core/webhooks/endpoints.ts';
import { startJobProcessor, type JobProcessor } from '../../core/jobs/agenda.ts';

useTestDatabase('customer_events');

let fake: FakeHubspot;
let server: http.Server;
let worker: JobProcessor;
let received: any[] = [];

beforeAll(async () => {
  fake = await startFakeHubspot({ clientId: 'cid', clientSecret: 'csecret', portalId: 5151 });
  fake.addPrivateAppToken('pat-ev');
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(process.env, { HUBSPOT_API_BASE_URL: fake.url, HUBSPOT_CLIENT_ID: 'cid', HUBSPOT_CLIENT_SECRET: 'csecret' });
  resetEnvCache();
  worker = await startJobProcessor({ jobs: [...eventJobs([outboundWebhooksConsumer]), ...defineWebhookJobs()], name: 'events17', processEveryMs: 100 });
});

afterAll(async () => {
  await worker?.stop({ drainMs: 2000 });
  await new Promise<void>((r) => server?.close(() => r()));
  await fake?.close();
});

const customerEvents = () => received.filter((e) => e.type === 'customer.created' || e.type === 'customer.updated');
/** waits for every recorded domain event to be dispatched, then for its deliveries to land */
async function settle(expected: number): Promise<void> {
  await until(async () => (await DomainEvent.countDocuments({ dispatched_at: null })) === 0, 15_000, 'events dispatched');
  await until(async () => customerEvents().length >= expected, 15_000, `${expected} webhook(s) received`);
  await new Promise((r) => setTimeout(r, 400)); // and no more than that
}

describe('customer.created / customer.updated webhooks', () => {
  it('fire on incremental syncs, never on the first full sync, and not for a re-sync that changes nothing', async () => {
    const ws = await createWorkspace({ name: 'Events Co' });
    await upsertMember(ws._id, { email: 'owner@example.com', role: 'owner' });
    const { endpoint } = await createEndpoint({ workspaceId: ws._id, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, events: ['customer.created', 'customer.updated'], allowPrivate: true });
    const acmeId = fake.createCompany({ name: 'Acme', domain: 'acme.com' }).id;
    fake.createCompany({ name: 'Globex', domain: 'globex.com' });
    fake.takeWebhookEvents();
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'hubspot', authType: 'token', credentials: { accessToken: 'pat-ev' }, externalAccountId: '5151' });
    const connectionId = String(conn._id);

    // The first full sync imports the book silently.
    expect((await runSync({ connectionId, kind: 'full', trigger: 'test' })).counts).toMatchObject({ created: 2 });
    expect(await DomainEvent.countDocuments({ workspace_id: ws._id, type: { $in: ['customer.created', 'customer.updated'] } })).toBe(0);

    // One synced field changes: exactly one customer.updated, with the old value.
    fake.updateCompany(acmeId, { name: 'Acme Corp' });
    fake.takeWebhookEvents();
    await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    await settle(1);
    const acme = await Customer.findOne({ workspace_id: ws._id, domain: 'acme.com' }).lean();
    expect(customerEvents()).toHaveLength(1);
    expect(customerEvents()[0]).toMatchObject({
      type: 'customer.updated', workspace_id: String(ws._id),
      data: { object: { object: 'customer', id: String(acme!._id), display_id: acme!.display_id, name: 'Acme Corp' }, previous_attributes: { name: 'Acme' } },
    });

    // Re-syncs that change nothing send nothing.
    received = [];
    await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    await runSync({ connectionId, kind: 'full', trigger: 'test' });
    await settle(0);
    expect(customerEvents()).toHaveLength(0);

    // A customer created by a later sync is announced once.
    fake.createCompany({ name: 'Initech', domain: 'initech.io' });
    fake.takeWebhookEvents();
    await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    await settle(1);
    const initech = await Customer.findOne({ workspace_id: ws._id, domain: 'initech.io' }).lean();
    expect(customerEvents()).toHaveLength(1);
    expect(customerEvents()[0]).toMatchObject({ type: 'customer.created', data: { object: { id: String(initech!._id), display_id: initech!.display_id } } });
    expect(await DomainEvent.countDocuments({ workspace_id: ws._id, type: 'customer.created' })).toBe(1);
    expect(endpoint.id).toBeTruthy();
  });
});
