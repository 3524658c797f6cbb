// The domain event feed: every customer transition worth reacting to (status changes,
// payment failures, later health-score drops) becomes one DomainEvent row, then one
// Agenda 'events.dispatch' job fans it out to the registered consumers (Slack alerts,
// outbound webhooks, …). Producers never know who listens, so a new trigger (health
// bucket into at risk, a drop of 10+) is a new emitDomainEvent call and, at most, a new
// alert rule — never a change to the bot.
//
// Exactly-once is a database guarantee: dedupe_key is unique, so the same transition
// emitted twice (duplicate webhooks, two workers, a retried job) inserts once and the
// second call returns false without enqueueing anything.
import { Types } from 'mongoose';
import { DomainEvent, type DomainEventType } from '../models/events.ts';
import { enqueue } from '../jobs/agenda.ts';
import { isDuplicateKeyError } from '../errors.ts';
import { log } from '../log.ts';

export const DISPATCH_JOB = 'events.dispatch';
/** one job fanning out a batch of events recorded together (a sync page's) */
export const DISPATCH_MANY_JOB = 'events.dispatch_many';

export type ActorType = 'slack_user' | 'user' | 'sync' | 'system' | 'api';
export interface Actor {
  type: ActorType;
  id: string;
  name?: string | null;
}

export interface DomainEventInput {
  workspaceId: Types.ObjectId | string;
  customerId: Types.ObjectId | string | null;
  type: DomainEventType;
  /** one key per transition, e.g. `${customerId}:status:${previousChangedAt}:active->at_risk` */
  dedupeKey: string;
  data?: Record<string, unknown>;
  previous?: Record<string, unknown> | null;
  actor?: Actor | string | null;
}

/** Stored as "type:id" so history and webhooks can say who did it without a join. */
export function actorLabel(actor: Actor | string | null | undefined): string | null {
  if (!actor) return null;
  if (typeof actor === 'string') return actor;
  return `${actor.type}:${actor.id}`;
}

/**
 * Records a domain event and schedules its fan-out. Returns false (and does nothing)
 * when an event with the same dedupe key already exists.
 */
export async function emitDomainEvent(input: DomainEventInput): Promise<boolean> {
  let eventId: string;
  try {
    const doc = await DomainEvent.create(eventFields(input));
    eventId = String(doc._id);
  } catch (err) {
    if (isDuplicateKeyError(err)) {
      log.debug({ dedupe_key: input.dedupeKey, type: input.type }, 'domain event already recorded');
      return false;
    }
    throw err;
  }
  await enqueue(DISPATCH_JOB, { event_id: eventId });
  return true;
}

/** The stored fields of an event, shared by the one-event and the many-event paths. */
function eventFields(input: DomainEventInput) {
  const actor = input.actor && typeof input.actor === 'object' ? { actor: input.actor } : {};
  return {
    workspace_id: input.workspaceId, customer_id: input.customerId ?? null, type: input.type, dedupe_key: input.dedupeKey,
    data: { ...(input.data ?? {}), ...actor }, previous: input.previous ?? null, actor: actorLabel(input.actor),
  };
}

/** A whole document for the raw insertMany (no mongoose defaults or timestamps there). */
function eventDoc(input: DomainEventInput, _id: Types.ObjectId): Record<string, unknown> {
  return { _id, ...eventFields(input), dispatched_at: null, createdAt: new Date() };
}

/**
 * Records many events in one insert (a sync page's) and schedules one fan-out job for
 * those that were new; duplicates of earlier events are skipped. Returns how many were new.
 */
export async function emitDomainEvents(inputs: readonly DomainEventInput[]): Promise<number> {
  if (inputs.length === 0) return 0;
  const docs = inputs.map((input) => eventDoc(input, new Types.ObjectId()));
  const dup = new Set<number>();
  try {
    await DomainEvent.collection.insertMany(docs, { ordered: false });
  } catch (err: any) {
    const errs: any[] | null = err?.writeErrors ?? (isDuplicateKeyError(err) ? [err] : null);
    if (!errs || errs.some((w) => (w.code ?? w.err?.code) !== 11000)) throw err;
    for (const w of errs) dup.add(w.index ?? w.err?.index ?? 0);
  }
  const ids = docs.filter((_, i) => !dup.has(i)).map((d) => String(d._id));
  if (ids.length) await enqueue(DISPATCH_MANY_JOB, { event_ids: ids });
  return ids.length;
}
