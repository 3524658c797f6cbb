// Stripe webhooks into the inbound pipeline (core/inbound/pipeline.ts). A connection's own
// endpoint is verified with its endpoint secret; the platform's Connect endpoint with the
// platform secret (STRIPE_CONNECT_WEBHOOK_SECRET), each event routed by its `account` to
// the connections of that account. The event is recorded once per connection and answered
// 200; processing runs in the pipeline's job with backoff (the nightly reconcile repairs
// the rest): a revoked authorization stops syncing; otherwise the affected Stripe customer
// is re-read, so out-of-order deliveries converge on the newest state. As the customer
// source, the customer record is re-synced first (subscription events move it in or out of
// the source filter), then billing follows for every role.
import type Stripe from 'stripe';
import { Types } from 'mongoose';
import { Connection } from '../models/connection.ts';
import { decryptJson } from '../crypto.ts';
import { env } from '../env.ts';
import { recordInboundEvents, type StoredInboundEvent } from '../inbound/pipeline.ts';
import { affectedCustomerId, verifyStripeEvent, type StripeEventRef } from '../connectors/stripe/webhooks.ts';
import { markReauthorize } from './connections.ts';
import { syncRecord } from './engine.ts';
import { syncStripeCustomers } from './billing-run.ts';

/** Processing of one recorded Stripe event (the pipeline's processor for Stripe). */
export async function processStripeEvent(event: StoredInboundEvent): Promise<void> {
  const conn = await Connection.findById(event.connection_id);
  if (!conn || conn.state === 'disconnected') return;
  const p = event.payload as { id?: string; type?: string; customer_id?: string | null };
  const ref: StripeEventRef = { id: p.id ?? event.event_id, type: p.type ?? event.type ?? '', customerId: p.customer_id ?? null };
  if (ref.type === 'account.application.deauthorized') {
    // The account owner revoked Pivotal in their Stripe dashboard: syncing stops until they reconnect.
    await markReauthorize(conn._id, 'Pivotal was disconnected from the Stripe dashboard: reconnect Stripe to resume billing updates');
    return;
  }
  if (!ref.customerId) return;
  if (conn.role === 'customer_source') {
    const r = await syncRecord(String(conn._id), 'customer', ref.customerId, 'webhook');
    if (r.status === 'failed') throw new Error(r.message ?? 'record sync failed');
  }
  await syncStripeCustomers(conn, [ref.customerId], 'stripe');
}

export interface WebhookOutcome {
  status: number;
  body: Record<string, unknown>;
}

function eventRecord(conn: { _id: Types.ObjectId; workspace_id: Types.ObjectId }, event: Stripe.Event) {
  const ref: StripeEventRef = { id: event.id, type: event.type, customerId: affectedCustomerId(event as any) };
  return {
    provider: 'stripe' as const, accountId: event.account ?? null, eventId: event.id, connection: conn, type: event.type,
    occurredAt: new Date(event.created * 1000),
    payload: { id: event.id, type: event.type, object_id: (event.data.object as { id?: string }).id ?? null, customer_id: ref.customerId },
  };
}

/** The platform's Connect endpoint: events of connected accounts, routed by `account`. */
export async function handleStripeConnectWebhook(rawBody: Buffer, signature: string | undefined): Promise<WebhookOutcome> {
  const secret = env().STRIPE_CONNECT_WEBHOOK_SECRET;
  if (!secret) return { status: 401, body: { error: 'no Connect webhook secret is configured (STRIPE_CONNECT_WEBHOOK_SECRET)' } };
  if (!signature) return { status: 400, body: { error: 'missing Stripe-Signature header' } };
  const verified = verifyStripeEvent(rawBody, signature, secret);
  if ('error' in verified) return { status: 400, body: { error: verified.error } };
  const event = verified.event;
  if (!event.account) return { status: 400, body: { error: 'a Connect event names its account' } };
  const conns = await Connection.find({ provider: 'stripe', external_account_id: event.account, state: { $ne: 'disconnected' } }, { _id: 1, workspace_id: 1, mode: 1 }).lean();
  const wanted = conns.filter((c) => !c.mode || event.livemode === (c.mode === 'live'));
  const out = await recordInboundEvents(wanted.length ? wanted.map((c) => eventRecord(c, event)) : [{ ...eventRecord({ _id: null as never, workspace_id: null as never }, event), connection: null }]);
  return { status: 200, body: { received: true, ...out } };
}

export async function handleStripeWebhook(connectionId: string, rawBody: Buffer, signature: string | undefined): Promise<WebhookOutcome> {
  if (!Types.ObjectId.isValid(connectionId)) return { status: 404, body: { error: 'unknown connection' } };
  const conn = await Connection.findById(connectionId);
  if (!conn || conn.provider !== 'stripe') return { status: 404, body: { error: 'unknown connection' } };
  if (!conn.webhook_secret) return { status: 401, body: { error: 'this connection has no webhook endpoint secret' } };
  if (!signature) return { status: 400, body: { error: 'missing Stripe-Signature header' } };
  // Bad, stale or foreign signatures, and bodies that are not JSON: the sender's problem.
  const verified = verifyStripeEvent(rawBody, signature, decryptJson<string>(conn.webhook_secret));
  if ('error' in verified) return { status: 400, body: { error: verified.error } };
  const event = verified.event;
  if (conn.state === 'disconnected') return { status: 200, body: { ignored: 'connection disconnected' } };
  if (conn.mode && event.livemode !== (conn.mode === 'live')) return { status: 400, body: { error: `a ${event.livemode ? 'live' : 'test'}-mode event reached a ${conn.mode}-mode connection` } };

  const out = await recordInboundEvents([eventRecord(conn, event)]);
  return { status: 200, body: { received: true, ...(out.duplicates ? { duplicate: true } : {}) } };
}
