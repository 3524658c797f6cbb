// Delivery of outbound webhooks. The domain event feed hands each event to
// queueEventDeliveries, which writes one delivery per subscribed endpoint (its unique key
// refuses a second one when an event is dispatched twice) and queues its first attempt.
// Each attempt is claimed by its number with a conditional update, so a job run twice
// sends once. Failures retry at +5 s, +5 min, +30 min, +2 h, +5 h, +10 h and a final
// attempt 24 h after the event; every retry carries the same webhook-id. An endpoint
// that fails 100 times in a row is disabled, and its workspace's admins see why.
import { Types } from 'mongoose';
import { WebhookDelivery, WebhookEndpoint } from '../models/webhooks.ts';
import { Customer } from '../models/customer.ts';
import { defineJob, enqueue, type JobDefinition } from '../jobs/agenda.ts';
import type { EventConsumer, StoredDomainEvent } from '../events/dispatch.ts';
import { DOMAIN_EVENT_TYPES } from '../models/events.ts';
import { decryptSecret } from '../crypto.ts';
import { isDuplicateKeyError } from '../errors.ts';
import { log } from '../log.ts';
import { customerView } from '../customers/view.ts';
import { sendWebhook } from './send.ts';

export const WEBHOOK_DELIVER_JOB = 'webhooks.deliver';
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** wait after failed attempt n (1-based) before attempt n+1; attempt 8 is the final one, 24 h after the event */
export const RETRY_DELAYS_MS = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR];
export const FINAL_ATTEMPT_AFTER_MS = 24 * HOUR;
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 2;
export const DISABLE_AFTER_FAILURES = 100;
const KEPT_ATTEMPTS = 20;

/** When the attempt after failed attempt `n` is due, or null when `n` was the last. */
export function nextAttemptAt(n: number, createdAt: Date, now: Date): Date | null {
  if (n < 1 || n >= MAX_ATTEMPTS) return null;
  if (n <= RETRY_DELAYS_MS.length) return new Date(now.getTime() + RETRY_DELAYS_MS[n - 1]!);
  return new Date(Math.max(createdAt.getTime() + FINAL_ATTEMPT_AFTER_MS, now.getTime()));
}

export interface Envelope {
  id: string;
  type: string;
  created_at: string;
  workspace_id: string;
  livemode: boolean;
  data: { object: unknown; previous_attributes: unknown };
}

const envelopeId = (id: Types.ObjectId | string) => `evt_${String(id)}`;

/** The body for one endpoint (livemode is the endpoint's mode). */
export function envelopeBody(e: Omit<Envelope, 'livemode'>, livemode: boolean): string {
  return JSON.stringify({ id: e.id, type: e.type, created_at: e.created_at, workspace_id: e.workspace_id, livemode, data: e.data });
}

async function eventEnvelope(event: StoredDomainEvent): Promise<Omit<Envelope, 'livemode'>> {
  const customer = event.customer_id ? await Customer.findOne({ _id: event.customer_id, workspace_id: event.workspace_id }).lean() : null;
  const { actor: _actor, ...data } = event.data ?? {};
  return {
    id: envelopeId(event._id),
    type: event.type,
    created_at: (event.createdAt ?? new Date()).toISOString(),
    workspace_id: String(event.workspace_id),
    data: {
      object: customer ? { object: 'customer', ...customerView(customer), ...('reason' in data ? { status_reason: data.reason } : {}) } : data,
      previous_attributes: event.previous ?? null,
    },
  };
}

/** Writes a delivery and queues its first attempt; false when it already existed. */
export async function createDelivery(endpoint: { _id: Types.ObjectId; workspace_id: Types.ObjectId }, eventId: string, eventType: string, payload: string, replayOf: Types.ObjectId | null = null): Promise<Types.ObjectId | null> {
  const _id = new Types.ObjectId();
  const key = `${String(endpoint._id)}:${eventId}${replayOf ? `:replay:${String(_id)}` : ''}`;
  try {
    await WebhookDelivery.create({ _id, key, workspace_id: endpoint.workspace_id, endpoint_id: endpoint._id, event_id: eventId, event_type: eventType, payload, replay_of: replayOf, next_attempt_at: new Date() });
  } catch (err) {
    if (isDuplicateKeyError(err)) return null;
    throw err;
  }
  await enqueue(WEBHOOK_DELIVER_JOB, { delivery_id: String(_id), attempt: 1 });
  return _id;
}

/** The events.dispatch consumer: one delivery per subscribed, enabled endpoint. */
export async function queueEventDeliveries(event: StoredDomainEvent): Promise<number> {
  const endpoints = await WebhookEndpoint.find({ workspace_id: event.workspace_id, state: 'enabled', $or: [{ events: { $size: 0 } }, { events: event.type }] }).lean();
  if (!endpoints.length) return 0;
  const envelope = await eventEnvelope(event);
  let n = 0;
  for (const ep of endpoints) if (await createDelivery(ep, envelope.id, envelope.type, envelopeBody(envelope, ep.livemode !== false))) n++;
  return n;
}

async function recordEndpointOutcome(endpointId: Types.ObjectId, ok: boolean, error: string | null): Promise<void> {
  if (ok) {
    await WebhookEndpoint.updateOne({ _id: endpointId }, { $set: { consecutive_failures: 0 } });
    return;
  }
  const ep = await WebhookEndpoint.findOneAndUpdate({ _id: endpointId }, { $inc: { consecutive_failures: 1 } }, { returnDocument: 'after' }).lean();
  if (!ep || ep.state !== 'enabled' || ep.consecutive_failures < DISABLE_AFTER_FAILURES) return;
  const reason = `Disabled after ${ep.consecutive_failures} consecutive failed deliveries (last: ${error ?? 'unknown error'}). Fix the receiver, then enable the endpoint and replay what failed.`;
  const res = await WebhookEndpoint.updateOne({ _id: endpointId, state: 'enabled' }, { $set: { state: 'disabled', disabled_at: new Date(), disabled_reason: reason } });
  if (res.modifiedCount) log.warn({ event: 'webhook_endpoint_disabled', endpoint_id: String(endpointId), workspace_id: String(ep.workspace_id), url: ep.url }, reason);
}

/** Makes attempt number `attempt` of a delivery, if nobody has made it yet. */
export async function attemptDelivery(deliveryId: string, attempt: number, now = new Date()): Promise<'sent' | 'retrying' | 'failed' | 'skipped'> {
  if (!Types.ObjectId.isValid(deliveryId)) return 'skipped';
  const delivery = await WebhookDelivery.findOneAndUpdate(
    { _id: deliveryId, attempt_count: attempt - 1, status: { $in: ['pending', 'retrying'] } },
    { $set: { attempt_count: attempt } },
    { returnDocument: 'after' },
  ).lean();
  if (!delivery) return 'skipped';
  const endpoint = await WebhookEndpoint.findById(delivery.endpoint_id).lean();
  if (!endpoint || endpoint.state !== 'enabled') {
    await WebhookDelivery.updateOne({ _id: delivery._id }, { $set: { status: 'failed', last_error: endpoint ? 'endpoint disabled' : 'endpoint deleted', next_attempt_at: null } });
    return 'failed';
  }
  const outcome = await sendWebhook({ url: endpoint.url, secret: decryptSecret(endpoint.secret), allowPrivate: endpoint.allow_private }, delivery.event_id, delivery.payload);
  const record = { at: now, status_code: outcome.status_code, error: outcome.error, response_body: outcome.response_body, duration_ms: outcome.duration_ms };
  const next = outcome.ok ? null : nextAttemptAt(attempt, delivery.createdAt, now);
  const status = outcome.ok ? 'succeeded' : next ? 'retrying' : 'failed';
  await WebhookDelivery.updateOne(
    { _id: delivery._id },
    { $set: { status, next_attempt_at: next, last_status_code: outcome.status_code, last_error: outcome.error }, $push: { attempts: { $each: [record], $slice: -KEPT_ATTEMPTS } } },
  );
  await recordEndpointOutcome(endpoint._id, outcome.ok, outcome.error);
  if (next) await enqueue(WEBHOOK_DELIVER_JOB, { delivery_id: String(delivery._id), attempt: attempt + 1 }, { at: next });
  return outcome.ok ? 'sent' : status === 'retrying' ? 'retrying' : 'failed';
}

/** The domain-event consumer that queues outbound webhook deliveries (listed by the composition root). */
export const outboundWebhooksConsumer: EventConsumer = {
  name: 'outbound-webhooks',
  types: DOMAIN_EVENT_TYPES,
  handle: async (event) => {
    await queueEventDeliveries(event);
  },
};

/** The delivery job; its own schedule of attempts (next_attempt_at) is the retry policy, so no Agenda backoff. */
export function defineWebhookJobs(): JobDefinition[] {
  return [
    defineJob<{ delivery_id: string; attempt: number }>(WEBHOOK_DELIVER_JOB, async (data) => {
      await attemptDelivery(String(data.delivery_id), Number(data.attempt) || 1);
    }, { backoff: null }),
  ];
}
