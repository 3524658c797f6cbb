// Fan-out of the domain event feed. Consumers (Slack alerts, outbound webhooks, …)
// register at import time with the event types they care about; 'events.dispatch' runs
// each of them for one event. A consumer that throws is retried on its own through
// 'events.consume' so one broken consumer never replays the others. Consumers must be
// idempotent (a dispatch job may run again after a worker dies mid-way): alerts claim
// each delivery with a unique-index insert.
import type { Types } from 'mongoose';
import { defineJob, enqueue } from '../jobs/agenda.ts';
import { DomainEvent, type DomainEventType } from '../models/events.ts';
import { log } from '../log.ts';
import { errorMessage } from '../errors.ts';
import { DISPATCH_JOB } from './emit.ts';

export type StoredDomainEvent = {
  _id: Types.ObjectId;
  workspace_id: Types.ObjectId;
  customer_id: Types.ObjectId | null;
  type: DomainEventType;
  dedupe_key: string;
  data: Record<string, any>;
  previous: Record<string, any> | null;
  actor: string | null;
  createdAt?: Date;
};

export interface EventConsumer {
  name: string;
  /** event types this consumer reacts to; '*' for all */
  types: readonly DomainEventType[] | '*';
  handle(event: StoredDomainEvent): Promise<void>;
}

const consumers = new Map<string, EventConsumer>();

export function registerEventConsumer(consumer: EventConsumer): void {
  consumers.set(consumer.name, consumer);
}

const wants = (c: EventConsumer, type: DomainEventType) => c.types === '*' || c.types.includes(type);
const MAX_CONSUMER_ATTEMPTS = 6;

async function loadEvent(eventId: string): Promise<StoredDomainEvent | null> {
  return (await DomainEvent.findById(eventId).lean()) as unknown as StoredDomainEvent | null;
}

/** Runs every interested consumer for one event (exported for tests and the CLI). */
export async function dispatchDomainEvent(eventId: string): Promise<void> {
  const event = await loadEvent(eventId);
  if (!event) return;
  for (const consumer of consumers.values()) {
    if (!wants(consumer, event.type)) continue;
    try {
      await consumer.handle(event);
    } catch (err) {
      log.warn({ consumer: consumer.name, event_id: eventId, err: errorMessage(err) }, 'event consumer failed; retrying it alone');
      await enqueue('events.consume', { event_id: eventId, consumer: consumer.name, attempt: 1 }, { at: new Date(Date.now() + 30_000) });
    }
  }
  await DomainEvent.updateOne({ _id: event._id }, { $set: { dispatched_at: new Date() } });
}

/**
 * The event is recorded before its dispatch job is queued; if queueing failed (or the
 * job was lost), this finds events still undispatched after a grace period and queues
 * them again. Dispatch is idempotent, so a rare double dispatch is harmless.
 */
export async function sweepUndispatchedEvents(graceMs = 2 * 60_000): Promise<number> {
  const stale = await DomainEvent.find({ dispatched_at: null, createdAt: { $lt: new Date(Date.now() - graceMs) } }, { _id: 1 }).limit(500).lean();
  for (const e of stale) await enqueue(DISPATCH_JOB, { event_id: String(e._id) }, { unique: { name: DISPATCH_JOB, 'data.event_id': String(e._id) } });
  return stale.length;
}

defineJob('events.sweep', async () => {
  const n = await sweepUndispatchedEvents();
  if (n) log.warn({ count: n }, 're-queued undispatched domain events');
});

defineJob<{ event_id: string }>(DISPATCH_JOB, async (data) => {
  await dispatchDomainEvent(data.event_id);
});

defineJob<{ event_id: string; consumer: string; attempt: number }>('events.consume', async (data) => {
  const consumer = consumers.get(data.consumer);
  const event = await loadEvent(data.event_id);
  if (!consumer || !event) return;
  try {
    await consumer.handle(event);
  } catch (err) {
    if (data.attempt >= MAX_CONSUMER_ATTEMPTS) {
      log.error({ consumer: consumer.name, event_id: data.event_id, err: errorMessage(err) }, 'event consumer gave up');
      return;
    }
    const delayMs = 30_000 * 2 ** data.attempt;
    await enqueue('events.consume', { ...data, attempt: data.attempt + 1 }, { at: new Date(Date.now() + delayMs) });
  }
});
