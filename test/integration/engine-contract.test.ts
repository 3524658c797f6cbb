// What Pivotal relies on its database for, checked against whatever engine the run uses
// (the embedded one, or PIVOTAL_TEST_MONGODB_URI): atomic conditional updates under
// concurrency, no lost $inc, unique indexes, TTL expiry, index use for the product's own
// queries, one large bulkWrite, and transactions. An engine regression fails here, loudly
// and by name, before it shows up as a flaky product test.
import mongoose, { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { Customer } from '../../core/models/customer.ts';

useTestDatabase('engine_contract');
const db = () => mongoose.connection.db!;

/** The winning plan's stage names, depth first (MongoDB nests them under inputStage/inputStages). */
function stages(plan: any): string[] {
  if (!plan) return [];
  return [plan.stage, ...stages(plan.inputStage), ...(plan.inputStages ?? []).flatMap(stages), ...stages(plan.queryPlan)].filter(Boolean);
}

describe('engine contract', () => {
  it('findOneAndUpdate is atomic: of 10 concurrent claims exactly one wins, 20 rounds in a row', async () => {
    const jobs = db().collection('contract_locks');
    await jobs.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: `job-${i}` as any, lockedAt: null })));
    let winners = 0;
    for (let round = 0; round < 20; round++) {
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, w) => jobs.findOneAndUpdate({ _id: `job-${round}` as any, lockedAt: null }, { $set: { lockedAt: new Date(), by: w } }, { returnDocument: 'after' })),
      );
      winners += claims.filter(Boolean).length;
    }
    expect(winners).toBe(20);
  });

  it('loses no $inc: 10 writers x 100 upserts on one counter', async () => {
    const counters = db().collection('contract_counters');
    await counters.insertOne({ _id: 'c' as any, n: 0 });
    await Promise.all(Array.from({ length: 10 }, async () => {
      for (let i = 0; i < 100; i++) await counters.updateOne({ _id: 'c' as any }, { $inc: { n: 1 } }, { upsert: true });
    }));
    expect((await counters.findOne({ _id: 'c' as any }))!.n).toBe(1000);
  });

  it('enforces unique indexes, also under concurrent inserts', async () => {
    const coll = db().collection('contract_unique');
    await coll.createIndex({ key: 1 }, { unique: true });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => coll.insertOne({ key: 'same' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await coll.countDocuments({ key: 'same' })).toBe(1);
  });

  it('runs a 1,000-statement bulkWrite in one command', async () => {
    const coll = db().collection('contract_bulk');
    await coll.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: i as any, v: 0 })));
    const res = await coll.bulkWrite(Array.from({ length: 1000 }, (_, i) => ({ updateOne: { filter: { _id: i as any }, update: { $set: { v: i } } } })), { ordered: false });
    expect(res.modifiedCount).toBe(999); // _id 0 already had v: 0
    expect(await coll.countDocuments({ $expr: { $eq: ['$_id', '$v'] } })).toBe(1000);
  });

  it('commits and aborts transactions', async () => {
    const coll = db().collection('contract_tx');
    await coll.insertOne({ _id: 'seed' as any });
    const session = mongoose.connection.getClient().startSession();
    try {
      await session.withTransaction(async () => {
        await coll.insertOne({ _id: 'committed' as any }, { session });
      });
      await session.startTransaction();
      await coll.insertOne({ _id: 'aborted' as any }, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect((await coll.find({}).toArray()).map((d) => d._id).sort()).toEqual(['committed', 'seed']);
  });

  it("uses the product's indexes for customer search (explain shows an index scan)", async () => {
    const ws = new Types.ObjectId();
    await Customer.collection.insertMany(
      Array.from({ length: 500 }, (_, i) => ({ workspace_id: ws, display_id: i + 1, name: `Co ${i}`, name_lower: `co ${i}`, domain: `c${i}.example`, status: 'active', search_grams: ['  c', ' co', 'co '] })),
    );
    const queries: Record<string, unknown>[] = [
      { workspace_id: ws, display_id: 42 },
      { workspace_id: ws, name_lower: /^co 4/ },
      { workspace_id: ws, domain: 'c7.example' },
      { workspace_id: ws, search_grams: { $in: [' co'] } },
    ];
    for (const filter of queries) {
      const plan = await Customer.collection.find(filter).explain('queryPlanner');
      expect(stages((plan as any).queryPlanner.winningPlan), JSON.stringify(filter)).toContain('IXSCAN');
    }
  });

  it('expires documents through a TTL index', async () => {
    const coll = db().collection('contract_ttl');
    await coll.createIndex({ expires_at: 1 }, { expireAfterSeconds: 0 });
    await coll.insertMany([{ _id: 'old' as any, expires_at: new Date(Date.now() - 1000) }, { _id: 'new' as any, expires_at: new Date(Date.now() + 3_600_000) }]);
    // MongoDB's TTL monitor wakes every 60 s; allow two passes.
    await until(async () => (await coll.countDocuments({ _id: 'old' as any })) === 0, 130_000, 'TTL expiry of the old document');
    expect(await coll.countDocuments({ _id: 'new' as any })).toBe(1);
  }, 140_000);
});
