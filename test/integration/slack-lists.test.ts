// The Slack at-risk and failing lists stay exact while they are read through remembered
// bounds (core/slack/top-list.ts): a customer turning worse joins at once, and a list that
// shrank below its bound is read in full again.
import { Types } from 'mongoose';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { ensureDisplayIdCounter } from '../../core/models/counter.ts';
import { Customer } from '../../core/models/customer.ts';
import { atRiskCustomers, failingCustomers } from '../../core/slack/book.ts';

useTestDatabase('slack_lists');
const ws = new Types.ObjectId();
const names = (rows: { name: string }[]) => rows.map((r) => r.name);

beforeAll(async () => {
  await ensureDisplayIdCounter(ws);
  await createCustomers(
    ws,
    Array.from({ length: 40 }, (_, i) => ({
      name: `c${String(i).padStart(2, '0')}`,
      domain: null,
      status: i % 8 === 7 ? ('churned' as const) : ('at_risk' as const),
      health: { score: 30 + i, bucket: 'at_risk', breakdown: [] },
      billing: { mrr: 1000 * (i + 1), payment_status: 'failing' as const },
    })),
  );
});

const expectedAtRisk = async () => names(await Customer.find({ workspace_id: ws, status: 'at_risk', 'health.score': { $gte: 0 } }).sort({ 'health.score': 1, display_id: 1 }).limit(20).lean());
const expectedFailing = async () =>
  names(await Customer.find({ workspace_id: ws, status: { $in: ['active', 'at_risk'] }, 'billing.payment_status': { $in: ['failing', 'past_due'] } }).sort({ 'billing.mrr': -1, display_id: 1 }).limit(20).lean());

describe('Slack lists read through remembered bounds', () => {
  it('answer exactly what one full sorted read would, before and after the book changes', async () => {
    expect(names(await atRiskCustomers(ws))).toEqual(await expectedAtRisk());
    expect(names(await failingCustomers(ws))).toEqual(await expectedFailing());
    // worse than everyone listed: must appear first although the bound was learnt before
    await Customer.updateOne({ workspace_id: ws, name: 'c38' }, { $set: { 'health.score': 1, 'billing.mrr': 10_000_000 } });
    expect(names(await atRiskCustomers(ws))[0]).toBe('c38');
    expect(names(await failingCustomers(ws))[0]).toBe('c38');
    // most of the list recovers: fewer than 20 rows left inside the bound, so it is read again
    await Customer.updateMany({ workspace_id: ws, 'health.score': { $lt: 45 } }, { $set: { status: 'active', 'health.score': 80, 'billing.payment_status': 'paid' } });
    expect(names(await atRiskCustomers(ws))).toEqual(await expectedAtRisk());
    expect(names(await failingCustomers(ws))).toEqual(await expectedFailing());
    expect((await atRiskCustomers(ws)).length).toBe(20);
  });
});
