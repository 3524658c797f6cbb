// Stripe webhooks into the inbound pipeline (core/inbound/pipeline.ts). A connection's own
// endpoint is verified with its endpoint secret; the platform's Connect endpoint with the
// platform secret (STRIPE_CONNECT_WEBHOOK_SECRET), each event routed by its `account` to
// the connections of that account (300 s tolerance either way). The event is recorded
// once per connection and answered 200; processing (core/sync/stripe-events.ts: re-reading
// the affected Stripe customer, so a late or out-of-order event can only apply the newest
// state) runs in the pipeline's job with backoff; the nightly reconcile repairs the rest.
import Stripe from 'stripe';
import { Types } from 'mongoose';
import { Connection } from '../../models/connection.ts';
import { decryptJson } from '../../crypto.ts';
import { errorMessage } from '../../errors.ts';
import { env } from '../../env.ts';
import { recordInboundEvents } from '../../inbound/pipeline.ts';

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

/** What processing needs of an event; stored on the InboundEvent, so a retry needs no redelivery. */
export interface StripeEventRef {
  id: string;
  type: string;
  /** the Stripe customer whose state the event may have changed */
  customerId: string | null;
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
  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(rawBody, signature, secret, WEBHOOK_TOLERANCE_SEC);
  } catch (e) {
    return { status: 400, body: { error: `webhook rejected: ${errorMessage(e)}` } };
  }
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
  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(rawBody, signature, decryptJson<string>(conn.webhook_secret), WEBHOOK_TOLERANCE_SEC);
  } catch (e) {
    // Bad, stale or foreign signatures, and bodies that are not JSON: the sender's problem.
    return { status: 400, body: { error: `webhook rejected: ${errorMessage(e)}` } };
  }
  if (conn.state === 'disconnected') return { status: 200, body: { ignored: 'connection disconnected' } };
  if (conn.mode && event.livemode !== (conn.mode === 'live')) return { status: 400, body: { error: `a ${event.livemode ? 'live' : 'test'}-mode event reached a ${conn.mode}-mode connection` } };

  const out = await recordInboundEvents([eventRecord(conn, event)]);
  return { status: 200, body: { received: true, ...(out.duplicates ? { duplicate: true } : {}) } };
}
