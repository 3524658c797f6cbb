// Stripe webhooks for one connection: the Stripe-Signature is verified with the
// connection's own endpoint secret (300 s tolerance), the event is recorded once through
// InboundEvent's unique (provider, event_id) index, and then the affected Stripe customer
// is re-read, so a duplicate does nothing and a late or out-of-order event can only apply
// the newest Stripe state. Processing failures keep the event on record (status failed);
// Stripe's redelivery retries it and the nightly reconcile repairs anything left.
import Stripe from 'stripe';
import { Types } from 'mongoose';
import { Connection } from '../../models/connection.ts';
import { InboundEvent } from '../../models/events.ts';
import { decryptJson } from '../../crypto.ts';
import { errorMessage, isDuplicateKeyError } from '../../errors.ts';
import { log } from '../../log.ts';
import { syncStripeCustomers } from './billing-sync.ts';

export const WEBHOOK_TOLERANCE_SEC = 300;

export interface WebhookOutcome {
  status: number;
  body: Record<string, unknown>;
}

/** Events whose object names (or is) a Stripe customer whose billing may have changed. */
export function affectedCustomerId(event: { type: string; data: { object: any } }): string | null {
  const obj = event.data?.object;
  if (!obj || typeof obj !== 'object') return null;
  if (event.type.startsWith('customer.subscription.') || event.type.startsWith('invoice.')) {
    return typeof obj.customer === 'string' ? obj.customer : (obj.customer?.id ?? null);
  }
  if (event.type === 'customer.created' || event.type === 'customer.updated' || event.type === 'customer.deleted') return obj.id ?? null;
  return null;
}

let hook: ((connectionId: string, event: Stripe.Event) => Promise<void>) | null = null;
/** Stripe-as-source connections also feed the sync engine (set by the connector module). */
export function onSourceEvent(fn: typeof hook): void {
  hook = fn;
}

export async function handleStripeWebhook(connectionId: string, rawBody: Buffer, signature: string | undefined): Promise<WebhookOutcome> {
  if (!Types.ObjectId.isValid(connectionId)) return { status: 404, body: { error: 'unknown connection' } };
  const conn = await Connection.findById(connectionId);
  if (!conn || conn.provider !== 'stripe') return { status: 404, body: { error: 'unknown connection' } };
  if (!conn.webhook_secret) return { status: 401, body: { error: 'this connection has no webhook endpoint secret' } };
  if (!signature) return { status: 400, body: { error: 'missing Stripe-Signature header' } };
  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(rawBody, signature, decryptJson<string>(conn.webhook_secret), WEBHOOK_TOLERANCE_SEC);
  } catch (e) {
    // Bad, stale or foreign signatures, and bodies that are not JSON: the sender's problem.
    return { status: 400, body: { error: `webhook rejected: ${errorMessage(e)}` } };
  }
  if (conn.state === 'disconnected') return { status: 200, body: { ignored: 'connection disconnected' } };
  if (conn.mode && event.livemode !== (conn.mode === 'live')) return { status: 400, body: { error: `a ${event.livemode ? 'live' : 'test'}-mode event reached a ${conn.mode}-mode connection` } };

  // Event ids are Stripe-global; the same account may feed several workspaces, so the id is scoped to the connection.
  const eventKey = `${String(conn._id)}:${event.id}`;
  let record;
  try {
    record = await InboundEvent.create({
      provider: 'stripe', event_id: eventKey, connection_id: conn._id, workspace_id: conn.workspace_id, type: event.type,
      occurred_at: new Date(event.created * 1000), payload: { id: event.id, type: event.type, object_id: (event.data.object as { id?: string }).id ?? null },
    });
  } catch (e) {
    if (!isDuplicateKeyError(e)) throw e;
    const seen = await InboundEvent.findOne({ provider: 'stripe', event_id: eventKey }).lean();
    if (seen?.status !== 'failed') return { status: 200, body: { received: true, duplicate: true } };
    record = await InboundEvent.findById(seen._id);
  }
  try {
    const customerId = affectedCustomerId(event as any);
    // As source, customer events re-sync the customer record first; billing follows for
    // every role (subscription and invoice events carry the billing changes).
    if (conn.role === 'customer_source' && hook) await hook(String(conn._id), event);
    if (customerId) await syncStripeCustomers(conn, [customerId], 'stripe');
    await InboundEvent.updateOne({ _id: record!._id }, { $set: { status: 'processed', processed_at: new Date(), error: null } });
  } catch (e) {
    log.warn({ err: e, connection_id: String(conn._id), event_id: event.id }, 'stripe webhook processing failed');
    await InboundEvent.updateOne({ _id: record!._id }, { $set: { status: 'failed', error: errorMessage(e).slice(0, 500) } });
  }
  return { status: 200, body: { received: true } };
}
