// The portal's customer list pages through the book in exactly the order one sorted MongoDB
// read gives, for every sort, with filters, forwards (Next) and backwards (Previous), whether
// it walks the indexes by keyset (core/customers/walk.ts) or reads a small set whole; ties,
// missing values and non-ASCII names included. Members see only their own customers.
import { Types } from 'mongoose';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { customerListPage, parseListParams, SORTS, type ListParams, type PortalMember } from '../../core/customers/list.ts';

useTestDatabase('customer_list');
let ws: Types.ObjectId;
const owner = (): PortalMember => ({ workspaceId: String(ws), email: 'olivia@list.example', role: 'owner' });
const member = (): PortalMember => ({ workspaceId: String(ws), email: 'carl@list.example', role: 'member' });
const NAMES = ['Acme', 'acme', 'Émile & Co', 'Zeta', '日本商事', '🚀 Rocket', 'Ωmega', 'zz top', 'Beta', 'beta labs'];

beforeAll(async () => {
  ws = (await createWorkspace({ name: 'List Co' }))._id;
  await inviteMember({ workspaceId: String(ws), email: 'olivia@list.example', role: 'owner' });
  await inviteMember({ workspaceId: String(ws), email: 'carl@list.example', role: 'member' });
  const statuses = ['active', 'active', 'active', 'at_risk', 'churned', 'archived'] as const;
  await createCustomers(
    ws,
    Array.from({ length: 700 }, (_, i) => {
      const mrr = i % 7 === 0 ? null : 1_000 * (i % 10); // many ties and missing values
      const score = i % 5 === 0 ? null : (i * 37) % 101;
      return {
        name: `${NAMES[i % NAMES.length]} ${i % 3 === 0 ? '' : String(i % 50)}`.trim(),
        domain: `c${i}.example`,
        status: statuses[i % statuses.length],
        owner_email: i % 23 === 0 ? 'carl@list.example' : 'mia@list.example',
        plan: ['Starter', 'Growth'][i % 2],
        health: { score, bucket: score === null ? null : score >= 70 ? 'healthy' : score >= 40 ? 'watch' : 'at_risk', breakdown: [] },
        billing: { mrr, plan: ['Starter', 'Growth'][i % 2], payment_status: i % 11 === 0 ? ('failing' as const) : ('paid' as const) },
      };
    }),
  );
  // updatedAt ties and spread: a few share one instant
  await Customer.updateMany({ workspace_id: ws, display_id: { $lte: 100 } }, { $set: { updatedAt: new Date('2026-01-01T00:00:00Z') } }, { timestamps: false });
});

/** What one sorted read of the whole selection returns. */
async function expected(p: ListParams, visibleTo?: string): Promise<number[]> {
  const sort = SORTS[p.sort ?? 'name']!;
  const status = p.status ?? (p.q ? 'all' : undefined);
  const filter: Record<string, unknown> = { workspace_id: ws };
  if (!status) filter.status = { $in: ['active', 'at_risk'] };
  else if (status !== 'all') filter.status = status;
  if (p.plan) filter['billing.plan'] = p.plan;
  if (p.payment) filter['billing.payment_status'] = p.payment;
  if (p.owner) filter.owner_email = p.owner;
  if (visibleTo) filter.owner_email = visibleTo;
  const order = sort.key ? { [sort.key.path]: sort.dir, display_id: sort.dir } : { display_id: 1 };
  return (await Customer.find(filter, { display_id: 1 }).sort(order as any).lean()).map((c) => c.display_id);
}

/** Every page through Next links, then back through Previous links. */
async function pageThrough(m: PortalMember, p: ListParams) {
  const forward: number[][] = [];
  let page = await customerListPage(m, p);
  forward.push(page.rows.map((r) => r.display_id));
  while (page.next) {
    page = await customerListPage(m, { ...p, after: page.next });
    forward.push(page.rows.map((r) => r.display_id));
    expect(forward.length).toBeLessThan(40);
  }
  const backward: number[][] = [];
  while (page.prev) {
    page = await customerListPage(m, { ...p, after: undefined, before: page.prev });
    backward.push(page.rows.map((r) => r.display_id));
    expect(backward.length).toBeLessThan(40);
  }
  return { forward, backward };
}

describe('the customer list', () => {
  it.each(Object.keys(SORTS))('pages the default list sorted by %s in index order, both ways', async (sort) => {
    const want = await expected({ sort });
    const { forward, backward } = await pageThrough(owner(), { sort });
    expect(forward.flat()).toEqual(want);
    expect(forward.slice(0, -1).every((p) => p.length === 50)).toBe(true);
    expect(backward.reverse().flat()).toEqual(want.slice(0, want.length - forward.at(-1)!.length));
  });

  it('filters by every status, plan, payment and owner in the same order as a sorted read', async () => {
    for (const p of [{ status: 'all', sort: '-mrr' }, { status: 'churned', sort: 'health' }, { plan: 'Growth', sort: '-health' }, { payment: 'failing' as const, sort: 'mrr' }, { owner: 'mia@list.example', sort: 'name', status: 'all' }, { owner: 'carl@list.example', sort: '-updated' }]) {
      const { forward } = await pageThrough(owner(), p);
      expect(forward.flat(), JSON.stringify(p)).toEqual(await expected(p));
    }
  });

  it('shows a member only the customers they own', async () => {
    for (const sort of ['name', '-mrr']) {
      const { forward } = await pageThrough(member(), { sort, status: 'all' });
      expect(forward.flat()).toEqual(await expected({ sort, status: 'all' }, 'carl@list.example'));
      expect(forward.flat().length).toBeGreaterThan(0);
    }
  });

  it('keeps ?page= for the first pages and refuses a cursor it did not make', async () => {
    const want = await expected({ sort: 'health' });
    expect((await customerListPage(owner(), { sort: 'health', page: 3 })).rows.map((r) => r.display_id)).toEqual(want.slice(100, 150));
    expect(() => parseListParams(new URLSearchParams('after=not-json'))).toThrow(/not valid/);
    expect(() => parseListParams(new URLSearchParams('after=%7B%7D'))).toThrow(/after/);
  });
});
