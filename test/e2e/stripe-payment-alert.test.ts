// The payment-failing path as a CS team lives it, across every piece that carries it: the
// fake Stripe fails an invoice and delivers the signed webhook to the portal's route, the
// billing signal marks the customer failing, a worker dispatches the domain event, and the
// customer's channel in the fake Slack gets one alert with the billing line CSMs read. A
// redelivery and the nightly reconcile afterwards post nothing more.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { startFakeSlack, validateBlocks, type FakeSlack } from '../fakes/slack.ts';
import { resetEnvCache } from '../../core/env.ts';
import { setSlackRetryConfig } from '../../core/slack/client.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { linkSlackTeam } from '../../core/slack/link.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { startJobProcessor } from '../../core/jobs/agenda.ts';
import { AlertDelivery } from '../../core/models/alerts.ts';
import { stripeWebhookRouter } from '../../portal/http/stripe-webhooks.ts';
import { jobs } from '../../core/app/composition.ts';

useTestDatabase('stripe_payment_alert');

const saved = { ...process.env };
const WHSEC = 'whsec_e2e_payment_alert';
const TEAM = 'T0PAYALERT';
const TOKEN = 'xoxb-payment-alert-team';
let stripe: FakeStripe;
let slack: FakeSlack;
let server: http.Server;
let hookUrl = '';

beforeAll(async () => {
  stripe = await startFakeStripe();
  slack = await startFakeSlack();
  process.env.STRIPE_API_BASE_URL = stripe.url;
  process.env.SLACK_API_URL = slack.apiUrl;
  resetEnvCache();
  setSlackRetryConfig({ retries: 0 });
  const app = express();
  app.use(stripeWebhookRouter);
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe/`;
});

afterAll(async () => {
  setSlackRetryConfig(undefined);
  await new Promise<void>((r) => server.close(() => r()));
  await stripe?.close();
  await slack?.close();
  process.env = saved;
  resetEnvCache();
});

describe('a failed Stripe payment reaches the customer channel', () => {
  it('posts one alert with plan, MRR and payment status, and nothing for redeliveries or the reconcile', async () => {
    slack.addTeam({ teamId: TEAM, botToken: TOKEN, channels: [{ id: 'C0CSALERTS', name: 'cs-alerts', isMember: true }, { id: 'C0ACMEHQ01', name: 'acme', isMember: true }] });
    const ws = await createWorkspace({ name: 'Payment alerts' });
    await linkSlackTeam({ workspaceId: String(ws._id), teamId: TEAM, botToken: TOKEN, defaultChannelId: 'C0CSALERTS' });
    await createCustomers(ws._id, [{ name: 'Acme <!channel>', domain: 'acme.com', slack_channel_id: 'C0ACMEHQ01' }]);

    const b = stripe.book();
    const product = b.insertProduct({ name: 'Growth plan' }).id as string;
    const price = b.insertPrice({ product, unit_amount: 70000, currency: 'usd', recurring: { interval: 'month', interval_count: 1 }, lookup_key: 'Growth' }).id as string;
    const customer = b.insertCustomer({ email: 'ap@acme.com', name: 'Acme Inc' }).id as string;
    const sub = b.insertSubscription({ customer, items: [{ price, quantity: 2 }] } as any).id as string;
    b.insertInvoice({ customer, subscription: sub, status: 'paid', created: stripe.now() - 86_400 });
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: stripe.secretKey }, webhookSecret: WHSEC });
    await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });

    const worker = await startJobProcessor({ jobs, name: 'e2e-worker', processEveryMs: 150 });
    try {
      const invoice = stripe.createInvoice({ customer, subscription: sub, status: 'open' }).data.object;
      const failed = stripe.failInvoicePayment(invoice.id);
      expect(await stripe.deliverEvent(hookUrl + String(conn._id), failed, WHSEC)).toBe(200);
      await until(async () => (await AlertDelivery.countDocuments({ workspace_id: ws._id, status: 'sent' })) === 1);

      const posted = slack.callsTo('chat.postMessage').filter((c) => c.token === TOKEN && c.response.ok === true);
      expect(posted.map((c) => c.args.channel)).toEqual(['C0ACMEHQ01']);
      const message = posted[0]!.args;
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const text = JSON.stringify(message.blocks);
      expect(String(message.text)).toContain('Payment failing');
      expect(text).toContain('Plan: Growth, MRR $1,400, payment failing');
      expect(text).not.toContain('<!channel>'); // the customer's name is data, not a mention

      // Stripe redelivers, the subscription's own past_due event arrives, the nightly reconcile runs.
      expect(await stripe.deliverEvent(hookUrl + String(conn._id), failed, WHSEC)).toBe(200);
      const pastDue = stripe.events.filter((e) => e.type === 'customer.subscription.updated').at(-1)!;
      expect(await stripe.deliverEvent(hookUrl + String(conn._id), pastDue, WHSEC)).toBe(200);
      await runSync({ connectionId: String(conn._id), kind: 'reconcile', trigger: 'test' });
      await new Promise((r) => setTimeout(r, 1500)); // time for any wrongly queued dispatch to run
      expect(slack.callsTo('chat.postMessage').filter((c) => c.token === TOKEN && c.response.ok === true)).toHaveLength(1);
    } finally {
      await worker.stop({ drainMs: 2000 });
    }
  });
});
