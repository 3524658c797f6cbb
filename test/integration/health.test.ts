// Health recompute against the database: scores and breakdowns stored, the MRR history
// read for the trend, drop and bucket-change events raised once with their Activity rows,
// churned customers frozen, and the change sweep rescoring only what changed.
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { Activity } from '../../core/models/activity.ts';
import { DomainEvent } from '../../core/models/events.ts';
import { MrrSnapshot } from '../../core/models/health.ts';
import { recomputeChangedHealth, recomputeWorkspaceHealth } from '../../core/health/recompute.ts';
import { setCustomerStatus } from '../../core/customers/status.ts';

useTestDatabase('health');
const DAY = 86_400_000;

describe('health recompute', () => {
  it('scores every live customer, stores the breakdown and raises drops and bucket changes once', async () => {
    const ws = await createWorkspace({ name: 'Health Co' });
    const now = new Date();
    const [good, failing, gone] = await createCustomers(ws._id, [
      { name: 'Good Co', domain: 'good.example', billing: { mrr: 20_000, payment_status: 'paid', billing_started_at: new Date(now.getTime() - 730 * DAY) }, last_activity_at: now },
      { name: 'Failing Co', domain: 'failing.example', billing: { mrr: 10_000, payment_status: 'paid', billing_started_at: new Date(now.getTime() - 365 * DAY) } },
      { name: 'Gone Co', domain: 'gone.example', status: 'churned', health: { score: 55, bucket: 'watch', breakdown: [], computed_at: new Date(0) } },
    ]);
    // Good Co had 10,000 MRR 90 days ago: +100%, trend full marks
    await MrrSnapshot.create({ workspace_id: ws._id, customer_id: good!._id, day: '2000-01-01', mrr: 10_000, at: new Date(now.getTime() - 89 * DAY) });

    const first = await recomputeWorkspaceHealth(ws._id, { now });
    expect(first).toMatchObject({ scored: 2, median_mrr: 15_000, score_drops: 0, bucket_changes: 0 });
    const g = await Customer.findById(good!._id).lean();
    // payment 100·35 + trend 100·20 + tenure 100·15 + size (20,000/15,000 → 66.7)·15 + engagement 100·15 → 95
    expect(g!.health).toMatchObject({ score: 95, bucket: 'healthy' });
    expect((g!.health!.breakdown as any[]).find((b) => b.signal === 'contract_size').score).toBe(67);
    const f1 = await Customer.findById(failing!._id).lean();
    // payment 100, tenure 50, size 33.3; trend and engagement missing → (3500 + 750 + 500) / 65 = 73
    expect(f1!.health).toMatchObject({ score: 73, bucket: 'healthy' });
    expect((await Customer.findById(gone!._id).lean())!.health).toMatchObject({ score: 55, bucket: 'watch' });
    expect(await MrrSnapshot.countDocuments({ workspace_id: ws._id })).toBe(3); // the old reading and today's two (Gone Co frozen, no MRR)

    await Customer.updateOne({ _id: failing!._id }, { $set: { 'billing.payment_status': 'failing' } });
    const second = await recomputeWorkspaceHealth(ws._id, { now: new Date(now.getTime() + 1000) });
    // payment 0 → (0 + 750 + 500) / 65 = 19: a drop of 54 and healthy → at risk
    expect(second).toMatchObject({ score_drops: 1, bucket_changes: 1 });
    expect((await Customer.findById(failing!._id).lean())!.health).toMatchObject({ score: 19, bucket: 'at_risk' });
    const events = await DomainEvent.find({ customer_id: failing!._id }).lean();
    expect(events.map((e) => e.type).sort()).toEqual(['customer.health_bucket_changed', 'customer.health_score_dropped']);
    expect(events.find((e) => e.type === 'customer.health_score_dropped')!.previous).toMatchObject({ score: 73 });
    const rows = await Activity.find({ customer_id: failing!._id }).lean();
    expect(rows.map((r) => [r.event_type, r.old_value, r.new_value]).sort()).toEqual([
      ['health_bucket_changed', 'healthy', 'at_risk'],
      ['health_score_dropped', 73, 19],
    ]);

    // nothing changed: no new events
    expect(await recomputeWorkspaceHealth(ws._id, { now: new Date(now.getTime() + 2000) })).toMatchObject({ score_drops: 0, bucket_changes: 0 });
  });

  it('freezes a churned customer and rescores it once it is back, through the change sweep', async () => {
    const ws = await createWorkspace({ name: 'Churn Co' });
    const [c] = await createCustomers(ws._id, [{ name: 'Loyal', domain: 'loyal.example', billing: { mrr: 5_000, payment_status: 'paid' } }]);
    await recomputeWorkspaceHealth(ws._id);
    // payment 100·35 + contract size (the median itself) 50·15 → 4250 / 50 = 85
    expect((await Customer.findById(c!._id).lean())!.health!.score).toBe(85);
    await recomputeChangedHealth(ws._id); // the sweep's cursor catches up

    const actor = { type: 'user' as const, id: 'csm@example.com' };
    await setCustomerStatus({ workspaceId: ws._id, customerId: c!._id, status: 'churned', reason: 'budget', actor });
    await Customer.updateOne({ _id: c!._id }, { $set: { 'billing.payment_status': 'failing' } });
    await recomputeWorkspaceHealth(ws._id);
    await recomputeChangedHealth(ws._id);
    expect((await Customer.findById(c!._id).lean())!.health!.score).toBe(85); // frozen

    await setCustomerStatus({ workspaceId: ws._id, customerId: c!._id, status: 'active', actor });
    const swept = await recomputeChangedHealth(ws._id);
    expect(swept.scored).toBe(1);
    const back = await Customer.findById(c!._id).lean();
    // payment 0; no contract size: the last full run's median had no live payer
    expect(back!.health!.score).toBe(0);
    expect(back!.win_back_at).toBeInstanceOf(Date);
    // the sweep's own health write is not a change: nothing left to rescore
    expect((await recomputeChangedHealth(ws._id)).scored).toBe(0);
  });

  it('scores a book larger than one read window, and customers created after the run counted ids', async () => {
    const ws = await createWorkspace({ name: 'Big Book Co' });
    const statusOf = (i: number) => (i % 10 === 0 ? ('churned' as const) : ('active' as const));
    await createCustomers(ws._id, Array.from({ length: 2_345 }, (_, i) => ({ name: `Book ${i}`, status: statusOf(i), billing: { mrr: 1_000 + i, payment_status: 'paid' as const } })));
    // a customer whose display id is past the counter (written by something that did not ask it)
    await Customer.collection.insertOne({ ...(await Customer.findOne({ workspace_id: ws._id, status: 'active' }).lean())!, _id: new Types.ObjectId(), display_id: 9_999, health: { score: null, bucket: null, breakdown: [] } });
    const summary = await recomputeWorkspaceHealth(ws._id);
    expect(summary.scored).toBe(2_345 - 235 + 1);
    expect(await Customer.countDocuments({ workspace_id: ws._id, status: 'active', 'health.score': null })).toBe(0);
    expect(await Customer.countDocuments({ workspace_id: ws._id, status: 'churned', 'health.score': { $ne: null } })).toBe(0);
  });

  it('reads the MRR in force 90 days ago and writes a reading only when MRR changes', async () => {
    const ws = await createWorkspace({ name: 'Trend Co' });
    const now = new Date();
    const [c] = await createCustomers(ws._id, [{ name: 'Grower', domain: 'grower.example', billing: { mrr: 10_000, payment_status: 'none' } }]);
    await MrrSnapshot.create([
      { workspace_id: ws._id, customer_id: c!._id, day: 'a', mrr: 8_000, at: new Date(now.getTime() - 120 * DAY) },
      { workspace_id: ws._id, customer_id: c!._id, day: 'b', mrr: 10_000, at: new Date(now.getTime() - 60 * DAY) },
    ]);
    await recomputeWorkspaceHealth(ws._id, { now });
    const trend = ((await Customer.findById(c!._id).lean())!.health!.breakdown as any[]).find((b) => b.signal === 'mrr_trend');
    expect(trend).toMatchObject({ score: 100, detail: '+25% over 120 days' }); // 8,000 was in force 90 days ago
    expect(await MrrSnapshot.countDocuments({ customer_id: c!._id })).toBe(2); // unchanged MRR: no new reading
  });
});
