// Fan-out of the domain event feed. Consumers (Slack alerts, outbound webhooks, …) say
// which event types they care about and are listed by the composition root, which builds
// these jobs for that list (eventJobs); 'events.dispatch' runs each of them for one event. A consumer that throws is retried on its own through
// 'events.consume' (Agenda backoff) so one broken consumer never replays the others.
// Consumers must be idempotent (a dispatch can run twice: the sweep, a worker taken over
// mid-job): alerts claim each delivery with a unique-index insert.
import type { Types } from 'mongoose';
import { defineJob, enqueue, TRANSIENT_BACKOFF, type JobDefinition } from '../jobs/agenda.ts';
import { DomainEvent, type DomainEventType } from '../models/events.ts';
import { log } from '../log.ts';
import { errorMessage } from '../errors.ts';
import { DISPATCH_JOB, DISPATCH_MANY_JOB } from './emit.ts';

export const CONSUME_JOB = 'events.consume';

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

const wants = (c: EventConsumer, type: DomainEventType) => c.types === '*' || c.types.includes(type);

async function loadEvent(eventId: string): Promise<StoredDomainEvent | null> {
  return (await DomainEvent.findById(eventId).lean()) as unknown as StoredDomainEvent | null;
}

/** Runs every interested consumer for one event (exported for tests and the CLI). */
export async function dispatchDomainEvent(eventId: string, consumers: readonly EventConsumer[]): Promise<void> {
  const event = await loadEvent(eventId);
  if (!event) return;
  for (const consumer of consumers) {
    if (!wants(consumer, event.type)) continue;
    try {
      await consumer.handle(event);
    } catch (err) {
      log.warn({ consumer: consumer.name, event_id: eventId, err: errorMessage(err) }, 'event consumer failed; retrying it alone');
      await enqueue(CONSUME_JOB, { event_id: eventId, consumer: consumer.name }, { at: new Date(Date.now() + 30_000) });
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
  // lastFinishedAt: null — a dispatch job that ran (and failed for good) must not block a new one.
  for (const e of stale) await enqueue(DISPATCH_JOB, { event_id: String(e._id) }, { unique: { name: DISPATCH_JOB, 'data.event_id': String(e._id), lastFinishedAt: null } });
  return stale.length;
}

/** The dispatch, per-consumer retry and sweep jobs for one list of consumers. */
export function eventJobs(consumers: readonly EventConsumer[]): JobDefinition[] {
  const byName = new Map(consumers.map((c) => [c.name, c]));
  return [
    defineJob(
      'events.sweep',
      async () => {
        const n = await sweepUndispatchedEvents();
        if (n) log.warn({ count: n }, 're-queued undispatched domain events');
      },
      { backoff: null },
    ),
    defineJob<{ event_id: string }>(DISPATCH_JOB, async (data) => dispatchDomainEvent(data.event_id, consumers), { backoff: TRANSIENT_BACKOFF }),
    // A retried batch re-dispatches events already done: consumers are idempotent.
    defineJob<{ event_ids: string[] }>(
      DISPATCH_MANY_JOB,
      async (data) => {
        for (const id of data.event_ids ?? []) await dispatchDomainEvent(String(id), consumers);
      },
      { backoff: TRANSIENT_BACKOFF },
    ),
    // One consumer for one event, retried by Agenda's backoff until it succeeds or gives up (then the job stays failed, visible).
    defineJob<{ event_id: string; consumer: string }>(
      CONSUME_JOB,
      async (data) => {
        const consumer = byName.get(data.consumer);
        const event = await loadEvent(data.event_id);
        if (!consumer || !event) return;
        try {
          await consumer.handle(event);
        } catch (err) {
          log.warn({ consumer: consumer.name, event_id: data.event_id, err: errorMessage(err) }, 'event consumer failed');
          throw err;
        }
      },
      { backoff: TRANSIENT_BACKOFF },
    ),
  ];
}
