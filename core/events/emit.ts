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
import type { Types } from 'mongoose';
import { DomainEvent, type DomainEventType } from '../models/events.ts';
import { enqueue } from '../jobs/agenda.ts';
import { isDuplicateKeyError } from '../errors.ts';
import { log } from '../log.ts';

export const DISPATCH_JOB = 'events.dispatch';

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
    const doc = await DomainEvent.create({
      workspace_id: input.workspaceId,
      customer_id: input.customerId ?? null,
      type: input.type,
      dedupe_key: input.dedupeKey,
      data: { ...(input.data ?? {}), ...(input.actor && typeof input.actor === 'object' ? { actor: input.actor } : {}) },
      previous: input.previous ?? null,
      actor: actorLabel(input.actor),
    });
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
