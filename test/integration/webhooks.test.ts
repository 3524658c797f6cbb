// Outbound webhooks against a real loopback receiver: signatures verify with the Standard
// Webhooks reference verifier, retries keep the event id and follow the schedule, a receiver
// failing three times gets the event exactly once more, one failing forever is disabled after
// 100 consecutive failures, replays resend the same event, and private targets are refused.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mongoose, { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { useTestDatabase } from '../helpers/db.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { setCustomerStatus } from '../../core/customers/status.ts';
import { DomainEvent } from '../../core/models/events.ts';
import { WebhookDelivery, WebhookEndpoint } from '../../core/models/webhooks.ts';
import { dispatchDomainEvent } from '../../core/events/dispatch.ts';
import { attemptDelivery, createDelivery, nextAttemptAt, outboundWebhooksConsumer, WEBHOOK_DELIVER_JOB } from '../../core/webhooks/deliver.ts';
import { createEndpoint, listDeliveries, replayDelivery } from '../../core/webhooks/endpoints.ts';
import { sendWebhook } from '../../core/webhooks/send.ts';
import { JOBS_COLLECTION } from '../../core/jobs/agenda.ts';
import { workspaceOverview } from '../../core/sync/workspace-overview.ts';

useTestDatabase('webhooks');

interface Received { headers: http.IncomingHttpHeaders; body: string }
let received: Received[] = [];
/** how the receiver answers the next requests (then 200) */
let plan: number[] = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const code = plan.shift() ?? 200;
      if (code === 302) res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
      else res.writeHead(code, { 'content-type': 'text/plain' }).end(code >= 300 ? 'receiver says no' : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const jobs = (q: Record<string, unknown>) => mongoose.connection.db!.collection(JOBS_COLLECTION).find({ name: WEBHOOK_DELIVER_JOB, ...q }).toArray();

describe('outbound webhooks', () => {
  it('a status change sends one signed event; a receiver failing three times gets it once more with the same id', async () => {
    const ws = await createWorkspace({ name: 'Hooks Co' });
    const [acme] = await createCustomers(ws._id, [{ name: 'Acme', domain: 'acme.example' }]);
    const { endpoint, secret, ping_delivery_id } = await createEndpoint({ workspaceId: ws._id, url: `${base}/hooks`, events: ['customer.status_changed'], allowPrivate: true });
    expect(secret).toMatch(/^whsec_/);
    expect(JSON.stringify(await WebhookEndpoint.findById(endpoint.id).lean())).not.toContain(secret); // encrypted at rest

    received = [];
    expect(await attemptDelivery(ping_delivery_id, 1)).toBe('sent');
    expect(JSON.parse(received[0]!.body)).toMatchObject({ type: 'webhook.ping', livemode: true, data: { object: { id: endpoint.id } } });

    received = [];
    await setCustomerStatus({ workspaceId: ws._id, customerId: acme!._id, status: 'at_risk', reason: 'no login', actor: { type: 'user', id: 'csm@example.com' } });
    for (const e of await DomainEvent.find({ customer_id: acme!._id }).lean()) {
      await dispatchDomainEvent(String(e._id), [outboundWebhooksConsumer]);
      await dispatchDomainEvent(String(e._id), [outboundWebhooksConsumer]); // dispatched twice: still one delivery
    }
    const deliveries = await WebhookDelivery.find({ endpoint_id: endpoint.id, event_type: { $ne: 'webhook.ping' } }).lean();
    expect(deliveries).toHaveLength(1); // customer.at_risk is not subscribed
    const d = deliveries[0]!;

    plan = [500, 503, 404];
    const t0 = new Date();
    expect(await attemptDelivery(String(d._id), 1, t0)).toBe('retrying');
    expect(await attemptDelivery(String(d._id), 1, t0)).toBe('skipped'); // the same attempt claimed twice sends once
    const next = await jobs({ 'data.delivery_id': String(d._id), 'data.attempt': 2 });
    expect(next).toHaveLength(1);
    expect(Math.round((new Date(next[0]!.nextRunAt).getTime() - t0.getTime()) / 1000)).toBe(5);
    expect(await attemptDelivery(String(d._id), 2)).toBe('retrying');
    expect(await attemptDelivery(String(d._id), 3)).toBe('retrying');
    expect(await attemptDelivery(String(d._id), 4)).toBe('sent');
    expect(await attemptDelivery(String(d._id), 5)).toBe('skipped');

    expect(received).toHaveLength(4);
    const ids = new Set(received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    const wh = new Webhook(secret);
    for (const r of received) {
      const verified = wh.verify(r.body, { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) }) as any;
      expect(verified).toMatchObject({ type: 'customer.status_changed', workspace_id: String(ws._id), livemode: true, data: { object: { object: 'customer', name: 'Acme', status: 'at_risk', status_reason: 'no login' }, previous_attributes: { status: 'active' } } });
      expect(verified.id).toBe(r.headers['webhook-id']);
    }
    expect(() => wh.verify(received[0]!.body.replace('Acme', 'Evil'), received[0]!.headers as Record<string, string>)).toThrow();

    const [log] = await listDeliveries(endpoint.id, { status: 'succeeded' });
    expect(log).toMatchObject({ attempts: 4, last_status_code: 200 });
    expect((await WebhookEndpoint.findById(endpoint.id).lean())!.consecutive_failures).toBe(0);

    // replay: the same event id again, as its own delivery
    received = [];
    const replay = await replayDelivery(String(d._id));
    expect(await attemptDelivery(replay.id, 1)).toBe('sent');
    expect(received[0]!.headers['webhook-id']).toBe(d.event_id);
  });

  it('follows the retry schedule to a final attempt 24 h after the event', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    const after = (n: number, now: Date) => nextAttemptAt(n, created, now)?.getTime() ?? null;
    const s = 1000;
    expect(after(1, created)! - created.getTime()).toBe(5 * s);
    expect(after(2, created)! - created.getTime()).toBe(300 * s);
    expect(after(3, created)! - created.getTime()).toBe(1800 * s);
    expect(after(4, created)! - created.getTime()).toBe(7200 * s);
    expect(after(5, created)! - created.getTime()).toBe(5 * 3600 * s);
    expect(after(6, created)! - created.getTime()).toBe(10 * 3600 * s);
    expect(after(7, new Date(created.getTime() + 18 * 3600 * s))! - created.getTime()).toBe(24 * 3600 * s);
    expect(after(8, created)).toBeNull();
  });

  it('disables an endpoint after 100 consecutive failures and says why', async () => {
    const ws = await createWorkspace({ name: 'Broken Receiver Co' });
    const { endpoint, ping_delivery_id } = await createEndpoint({ workspaceId: ws._id, url: `${base}/down`, allowPrivate: true });
    plan = Array(200).fill(500);
    expect(await attemptDelivery(ping_delivery_id, 1)).toBe('retrying');
    const ep = await WebhookEndpoint.findById(endpoint.id).lean();
    for (let i = 0; i < 99; i++) {
      const id = await createDelivery(ep!, `evt_${String(new Types.ObjectId())}`, 'customer.updated', '{}');
      await attemptDelivery(String(id), 1);
    }
    const after = await WebhookEndpoint.findById(endpoint.id).lean();
    expect(after).toMatchObject({ state: 'disabled', consecutive_failures: 100 });
    expect(after!.disabled_reason).toMatch(/100 consecutive failed deliveries.*HTTP 500/);
    const overview = await workspaceOverview(String(ws._id)); // what the portal home shows the admins
    expect(overview.alerts).toContainEqual({ level: 'error', message: expect.stringMatching(/Outbound webhook .*\/down: Disabled after 100 consecutive/) });
    // nothing more is sent to a disabled endpoint
    const id = await createDelivery(ep!, 'evt_late', 'customer.updated', '{}');
    const before = received.length;
    expect(await attemptDelivery(String(id), 1)).toBe('failed');
    expect(received.length).toBe(before);
    plan = [];
  });

  it('refuses private targets, also after DNS resolution and redirects', async () => {
    const ws = await createWorkspace({ name: 'SSRF Co' });
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://169.254.169.254/latest', 'http://[::1]/x', 'http://10.1.2.3/', 'http://[::ffff:192.168.0.1]/', 'ftp://example.com/']) {
      await expect(createEndpoint({ workspaceId: ws._id, url })).rejects.toMatchObject({ code: 'bad_input' });
    }
    await expect(createEndpoint({ workspaceId: ws._id, url: 'https://example.com/x', events: ['customer.exploded'] })).rejects.toThrow(/unknown event type/);
    expect(await WebhookEndpoint.countDocuments({ workspace_id: ws._id })).toBe(0);

    // a name that resolves to loopback is refused at connection time (an endpoint whose name re-resolved since it was checked)
    const port = (server.address() as AddressInfo).port;
    const viaName = await sendWebhook({ url: `http://localhost:${port}/x`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivate: false }, 'evt_1', '{}');
    expect(viaName).toMatchObject({ ok: false, status_code: null });
    expect(viaName.error).toMatch(/refused: .*private address 127\.0\.0\.1/);

    // a redirect (here to the cloud metadata address) is never followed
    plan = [302];
    const count = received.length;
    const redirected = await sendWebhook({ url: `${base}/redirect`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivate: true }, 'evt_2', '{}');
    expect(redirected).toMatchObject({ ok: false, status_code: 302 });
    expect(redirected.error).toMatch(/not followed/);
    expect(received.length).toBe(count + 1);
  });
});
