// The domain event feed: one row per transition (duplicates refused by the database),
// and the sweeper re-queues events whose dispatch never happened.
import mongoose, { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { emitDomainEvent } from '../../core/events/emit.ts';
import { dispatchDomainEvent, sweepUndispatchedEvents } from '../../core/events/dispatch.ts';
import { DomainEvent } from '../../core/models/events.ts';
import { JOBS_COLLECTION } from '../../core/jobs/agenda.ts';

useTestDatabase('events');

describe('domain events', () => {
  it('records a transition once, however often it is emitted', async () => {
    const input = { workspaceId: new Types.ObjectId(), customerId: new Types.ObjectId(), type: 'customer.at_risk' as const, dedupeKey: 'c1:status:t0:active->at_risk' };
    const results = await Promise.all([emitDomainEvent(input), emitDomainEvent(input), emitDomainEvent(input)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await DomainEvent.countDocuments({ dedupe_key: input.dedupeKey })).toBe(1);
  });

  it('re-queues events left undispatched, and not the dispatched ones', async () => {
    const old = new Date(Date.now() - 10 * 60_000);
    const [lost, done] = await DomainEvent.insertMany([
      { workspace_id: new Types.ObjectId(), type: 'customer.churned', dedupe_key: 'lost-1', createdAt: old },
      { workspace_id: new Types.ObjectId(), type: 'customer.churned', dedupe_key: 'done-1', createdAt: old },
    ]);
    await dispatchDomainEvent(String(done!._id), []);
    expect((await DomainEvent.findById(done!._id).lean())!.dispatched_at).toBeInstanceOf(Date);
    expect(await sweepUndispatchedEvents(60_000)).toBe(1);
    const jobs = await mongoose.connection.db!.collection(JOBS_COLLECTION).find({ name: 'events.dispatch', 'data.event_id': String(lost!._id) }).toArray();
    expect(jobs).toHaveLength(1);
  });
});
