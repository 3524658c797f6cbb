// The billing store keeps one current version per customer: the newest write wins, a
// writer never leaves a customer without billing while it replaces it, racing writers
// both land, and superseded versions go (right after a write, or by the hourly cleanup).
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { CustomerBilling } from '../../core/models/billing.ts';
import { billingFor, noBilling, pruneSupersededBilling, writeBilling } from '../../core/billing/store.ts';
import { createCustomers, listCustomers } from '../../core/customers/customers.ts';

useTestDatabase('billing_store');

const ws = new Types.ObjectId();
const bill = (customerId: Types.ObjectId, mrr: number) => ({ workspaceId: ws, customerId, billing: { ...noBilling(), mrr, payment_status: 'paid' as const } });

describe('billing store', () => {
  it('replaces a customer\'s billing and keeps one version', async () => {
    const c = new Types.ObjectId();
    await writeBilling([bill(c, 100)]);
    await writeBilling([bill(c, 200)]);
    expect((await billingFor([c])).get(String(c))).toMatchObject({ mrr: 200, payment_status: 'paid' });
    expect(await CustomerBilling.countDocuments({ customer_id: c })).toBe(1);
    expect((await billingFor([new Types.ObjectId()])).size).toBe(0);
  });

  it('lets racing writers both land and the later one win', async () => {
    const c = new Types.ObjectId();
    await writeBilling([bill(c, 1)]);
    await Promise.all([10, 20, 30, 40].map((mrr) => writeBilling([bill(c, mrr)])));
    const versions = await CustomerBilling.find({ customer_id: c }).lean();
    expect(versions.length).toBeGreaterThanOrEqual(1);
    expect(versions.map((v) => v.mrr)).not.toContain(1);
    const newest = [...versions].sort((a, b) => a.written_at.getTime() - b.written_at.getTime() || String(a._id).localeCompare(String(b._id))).pop()!;
    expect((await billingFor([c])).get(String(c))!.mrr).toBe(newest.mrr);
  });

  it('prunes what a walk left behind, keeping the newest version of each customer', async () => {
    const a = new Types.ObjectId();
    const b = new Types.ObjectId();
    await writeBilling([bill(a, 1), bill(b, 1)], { prune: false });
    await new Promise((r) => setTimeout(r, 5));
    await writeBilling([bill(a, 2)], { prune: false });
    await new Promise((r) => setTimeout(r, 5));
    await writeBilling([bill(a, 3)], { prune: false });
    expect(await CustomerBilling.countDocuments({ customer_id: { $in: [a, b] } })).toBe(4);
    expect((await billingFor([a, b])).get(String(a))!.mrr).toBe(3);
    expect(await pruneSupersededBilling()).toBeGreaterThanOrEqual(2);
    const left = await CustomerBilling.find({ customer_id: { $in: [a, b] } }).lean();
    expect(left.map((v) => [String(v.customer_id), v.mrr]).sort()).toEqual([[String(a), 3], [String(b), 1]].sort());
  });

  it('attaches billing to a whole book listed at once (one read of the workspace) and to a few customers', async () => {
    const book = new Types.ObjectId();
    const created = await createCustomers(book, Array.from({ length: 250 }, (_, i) => ({ name: `Book ${i}`, ...(i % 5 ? { billing: { mrr: i * 100, payment_status: 'paid' as const } } : {}) })));
    const listed = await listCustomers(book);
    expect(listed).toHaveLength(250);
    for (const c of listed) {
      const i = Number(c.name.split(' ')[1]);
      expect(c.billing).toMatchObject(i % 5 ? { mrr: i * 100, payment_status: 'paid' } : { mrr: null, payment_status: 'none' });
    }
    const few = await listCustomers(book, { limit: 3 });
    expect(few.map((c) => c.billing.mrr)).toEqual([null, 100, 200]);
    expect(created).toHaveLength(250);
  });
});
