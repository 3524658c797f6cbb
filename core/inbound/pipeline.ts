// The one inbound pipeline for provider events (HubSpot, Stripe, Salesforce next):
// the HTTP route verifies the request, then recordInboundEvents() stores each event once
// (unique per provider, account, connection and event id) before the route answers 2xx;
// processing happens in the 'inbound.process' job with Agenda's backoff; a sweep queues
// anything recorded but never processed (the process died between the two); an event
// whose retries are used up stays as a `dead` letter with its error, shown by
// `sync status` and the connection page. What processing means per provider is the
// composition root's business (it hands the processors to inboundJobs).
import type { Types } from 'mongoose';
import { InboundEvent } from '../models/events.ts';
import type { Provider } from '../models/connection.ts';
import { defineJob, enqueue, TRANSIENT_BACKOFF, type JobDefinition } from '../jobs/agenda.ts';
import { errorMessage, isDuplicateKeyError } from '../errors.ts';
import { log } from '../log.ts';

export const INBOUND_PROCESS_JOB = 'inbound.process';
export const INBOUND_SWEEP_JOB = 'inbound.sweep';
/** Attempts before an event becomes a dead letter (Agenda's backoff: 30 s … 16 min). */
export const MAX_INBOUND_ATTEMPTS = 7;
/** How long a recorded event may wait for its job before the sweep queues it again. */
export const SWEEP_GRACE_MS = 2 * 60_000;

export interface InboundEventInput {
  provider: Provider;
  /** the sending account (HubSpot portal id, Stripe account id); part of the uniqueness */
  accountId: string | null;
  eventId: string;
  /** the connection that will process it; null records it as `ignored` (no one wants it) */
  connection: { _id: Types.ObjectId; workspace_id: Types.ObjectId } | null;
  type: string;
  occurredAt: Date | null;
  /** what processing needs, so a retry never needs a redelivery */
  payload: Record<string, unknown>;
}

export interface StoredInboundEvent {
  _id: Types.ObjectId;
  provider: Provider;
  account_id: string | null;
  event_id: string;
  connection_id: Types.ObjectId;
  workspace_id: Types.ObjectId;
  type: string | null;
  payload: Record<string, any>;
  attempts: number;
}

export type InboundProcessor = (event: StoredInboundEvent) => Promise<void>;

export interface RecordOutcome {
  accepted: number;
  duplicates: number;
  ignored: number;
}

/** Records events durably (the caller answers 2xx after this) and queues their processing. */
export async function recordInboundEvents(events: InboundEventInput[]): Promise<RecordOutcome> {
  const out: RecordOutcome = { accepted: 0, duplicates: 0, ignored: 0 };
  for (const e of events) {
    let id: Types.ObjectId;
    try {
      const doc = await InboundEvent.create({
        provider: e.provider, account_id: e.accountId, event_id: e.eventId, connection_id: e.connection?._id ?? null,
        workspace_id: e.connection?.workspace_id ?? null, type: e.type, occurred_at: e.occurredAt, payload: e.payload,
        status: e.connection ? 'received' : 'ignored', error: e.connection ? null : 'no connection for this account',
      });
      id = doc._id;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      out.duplicates++;
      continue;
    }
    if (!e.connection) {
      out.ignored++;
      continue;
    }
    out.accepted++;
    // Recorded is what counts: a queueing failure here is repaired by the sweep.
    await queueProcessing(String(id)).catch((err) => log.warn({ err: errorMessage(err), inbound_event_id: String(id) }, 'could not queue an inbound event; the sweep will'));
  }
  return out;
}

function queueProcessing(inboundEventId: string): Promise<string> {
  return enqueue(INBOUND_PROCESS_JOB, { inbound_event_id: inboundEventId }, { unique: { name: INBOUND_PROCESS_JOB, 'data.inbound_event_id': inboundEventId, lastFinishedAt: null } });
}

/** Processes one recorded event; throws to have Agenda retry it, until it becomes a dead letter. */
export async function processInboundEvent(inboundEventId: string, processors: Partial<Record<Provider, InboundProcessor>>): Promise<void> {
  const event = (await InboundEvent.findById(inboundEventId).lean()) as unknown as (StoredInboundEvent & { status: string }) | null;
  if (!event || event.status === 'processed' || event.status === 'ignored' || event.status === 'dead') return;
  const attempts = (event.attempts ?? 0) + 1;
  const processor = processors[event.provider];
  try {
    if (!processor) throw new Error(`no processor for ${event.provider} events`);
    await processor({ ...event, attempts });
    await InboundEvent.updateOne({ _id: event._id }, { $set: { status: 'processed', processed_at: new Date(), error: null, attempts } });
  } catch (err) {
    const dead = attempts >= MAX_INBOUND_ATTEMPTS;
    await InboundEvent.updateOne({ _id: event._id }, { $set: { status: dead ? 'dead' : 'failed', error: errorMessage(err).slice(0, 500), attempts } });
    log.warn({ inbound_event_id: inboundEventId, provider: event.provider, attempts, dead, err: errorMessage(err) }, 'inbound event processing failed');
    if (!dead) throw err;
  }
}

/** Events recorded but never picked up (the process stopped between recording and queueing). */
export async function sweepInboundEvents(graceMs = SWEEP_GRACE_MS): Promise<number> {
  const stale = await InboundEvent.find({ status: 'received', createdAt: { $lt: new Date(Date.now() - graceMs) } }, { _id: 1 }).limit(500).lean();
  for (const e of stale) await queueProcessing(String(e._id));
  return stale.length;
}

/** Dead letters of one connection, newest first, for status screens. */
export async function deadLetters(connectionId: Types.ObjectId, limit = 20) {
  const rows = await InboundEvent.find({ connection_id: connectionId, status: 'dead' }, { event_id: 1, type: 1, error: 1, attempts: 1, createdAt: 1 }).sort({ createdAt: -1 }).limit(limit).lean();
  return rows.map((r) => ({ event_id: r.event_id, type: r.type, error: r.error, attempts: r.attempts, received_at: r.createdAt }));
}

export function inboundJobs(processors: Partial<Record<Provider, InboundProcessor>>): JobDefinition[] {
  return [
    defineJob<{ inbound_event_id: string }>(INBOUND_PROCESS_JOB, (data) => processInboundEvent(data.inbound_event_id, processors), { backoff: TRANSIENT_BACKOFF }),
    defineJob(
      INBOUND_SWEEP_JOB,
      async () => {
        const n = await sweepInboundEvents();
        if (n) log.warn({ count: n }, 're-queued inbound events recorded but never processed');
      },
      { backoff: null },
    ),
  ];
}
