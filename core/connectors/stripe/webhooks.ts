// Stripe webhooks for one connection: the Stripe-Signature is verified with the
// connection's own endpoint secret (300 s tolerance), the event is recorded once through
// InboundEvent's unique (provider, event_id) index, and then the affected Stripe customer
// is re-read, so a duplicate does nothing and a late or out-of-order event can only apply
// the newest Stripe state. The answer is 200 once the event is recorded, so Stripe does not
// redeliver it: processing that fails (Stripe down, a database hiccup) is retried here,
// with backoff, by 'stripe.event.retry'; events left "received" by a crashed process are
// picked up by the sweep; the nightly reconcile repairs anything beyond that.
import Stripe from 'stripe';
import { Types } from 'mongoose';
import { Connection } from '../../models/connection.ts';
import { InboundEvent } from '../../models/events.ts';
import { decryptJson } from '../../crypto.ts';
import { errorMessage, isDuplicateKeyError } from '../../errors.ts';
import { log } from '../../log.ts';
import { defineJob, enqueue, TRANSIENT_BACKOFF } from '../../jobs/agenda.ts';
import { markReauthorize } from '../../sync/connections.ts';
import { syncStripeCustomers, type BillingConnection } from './billing-sync.ts';

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

let hook: ((connectionId: string, event: StripeEventRef) => Promise<void>) | null = null;
/** Stripe-as-source connections also feed the sync engine (set by the connector module). */
export function onSourceEvent(fn: typeof hook): void {
  hook = fn;
}

export const RETRY_JOB = 'stripe.event.retry';
export const MAX_ATTEMPTS = 6;
/** Delay before attempt n+1 (n ≥ 1): 30 s, 1 min, 2 min, 4 min, 8 min. */
export const retryDelayMs = (attempts: number) => 30_000 * 2 ** Math.max(0, attempts - 1);

type InboundDoc = { _id: Types.ObjectId; attempts?: number | null };
type StripeConnection = BillingConnection & { state: string };

/** Re-reads the event's customer and applies the newest state; records the outcome, queues a retry on failure. */
async function processEvent(conn: StripeConnection, record: InboundDoc, ref: StripeEventRef): Promise<boolean> {
  const attempts = (record.attempts ?? 0) + 1;
  try {
    if (ref.type === 'account.application.deauthorized') {
      // The account owner revoked Pivotal in their Stripe dashboard: syncing stops until they reconnect.
      await markReauthorize(conn._id, 'Pivotal was disconnected from the Stripe dashboard: reconnect Stripe to resume billing updates');
    } else {
      // As source, customer events re-sync the customer record first; billing follows for
      // every role (subscription and invoice events carry the billing changes).
      if (conn.role === 'customer_source' && hook) await hook(String(conn._id), ref);
      if (ref.customerId) await syncStripeCustomers(conn, [ref.customerId], 'stripe');
    }
    await InboundEvent.updateOne({ _id: record._id }, { $set: { status: 'processed', processed_at: new Date(), error: null, attempts } });
    return true;
  } catch (e) {
    const retry = attempts < MAX_ATTEMPTS && conn.state === 'connected';
    log.warn({ err: e, connection_id: String(conn._id), event_id: ref.id, attempts, retry }, 'stripe webhook processing failed');
    await InboundEvent.updateOne({ _id: record._id }, { $set: { status: 'failed', error: errorMessage(e).slice(0, 500), attempts } });
    if (retry) await enqueue(RETRY_JOB, { inbound_event_id: String(record._id) }, { at: new Date(Date.now() + retryDelayMs(attempts)) });
    return false;
  }
}

/** Processes a recorded event again (the retry job and the sweep). */
export async function reprocessStripeEvent(inboundEventId: string): Promise<boolean | null> {
  const record = await InboundEvent.findById(inboundEventId).lean();
  if (!record || record.provider !== 'stripe' || record.status === 'processed') return null;
  const conn = await Connection.findById(record.connection_id);
  if (!conn || conn.state === 'disconnected') return null;
  const p = (record.payload ?? {}) as { id?: string; type?: string; customer_id?: string | null };
  return processEvent(conn, record, { id: p.id ?? record.event_id, type: p.type ?? record.type ?? '', customerId: p.customer_id ?? null });
}

/** Events a crashed process recorded but never processed, after a grace period. */
export async function sweepUnprocessedStripeEvents(graceMs = 5 * 60_000): Promise<number> {
  const stale = await InboundEvent.find({ provider: 'stripe', status: 'received', createdAt: { $lt: new Date(Date.now() - graceMs) } }, { _id: 1 }).limit(500).lean();
  for (const e of stale) await enqueue(RETRY_JOB, { inbound_event_id: String(e._id) }, { unique: { name: RETRY_JOB, 'data.inbound_event_id': String(e._id), lastFinishedAt: null } });
  return stale.length;
}

defineJob<{ inbound_event_id: string }>(RETRY_JOB, async (data) => {
  await reprocessStripeEvent(data.inbound_event_id);
}, { backoff: TRANSIENT_BACKOFF });

defineJob('stripe.events.sweep', async () => {
  const n = await sweepUnprocessedStripeEvents();
  if (n) log.warn({ count: n }, 're-queued unprocessed Stripe webhook events');
}, { backoff: null });

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
  const ref: StripeEventRef = { id: event.id, type: event.type, customerId: affectedCustomerId(event as any) };
  let record: InboundDoc;
  try {
    record = await InboundEvent.create({
      provider: 'stripe', event_id: eventKey, connection_id: conn._id, workspace_id: conn.workspace_id, type: event.type,
      occurred_at: new Date(event.created * 1000),
      payload: { id: event.id, type: event.type, object_id: (event.data.object as { id?: string }).id ?? null, customer_id: ref.customerId },
    });
  } catch (e) {
    if (!isDuplicateKeyError(e)) throw e;
    // A redelivery of an event still failing is a free extra attempt; anything else is a duplicate.
    const seen = await InboundEvent.findOne({ provider: 'stripe', event_id: eventKey }).lean();
    if (!seen || seen.status !== 'failed') return { status: 200, body: { received: true, duplicate: true } };
    record = seen;
  }
  await processEvent(conn, record, ref);
  return { status: 200, body: { received: true } };
}
