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
import { takeFences, type Fences } from '../../core/customers/fences.ts';
import { walkIndex, type Position, type WalkSpec } from '../../core/customers/walk.ts';
import { keyOf } from '../../core/customers/sort-value.ts';

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

describe('the list walk over fences', () => {
  // Windows between fences (core/customers/fences.ts) only bound what each read costs: with
  // fences of any step, fresh or stale after the book changed, the walk returns exactly what
  // one sorted read does, from the start or from any position, both directions.
  let fenceWs: Types.ObjectId;
  const statusOf = (i: number) => (i % 4 === 0 ? 'at_risk' : 'active');
  beforeAll(async () => {
    fenceWs = (await createWorkspace({ name: 'Fence Co' }))._id;
    await createCustomers(
      fenceWs,
      Array.from({ length: 400 }, (_, i) => ({
        name: `${NAMES[i % NAMES.length]} ${i % 9}`,
        domain: `f${i}.example`,
        status: statusOf(i),
        health: { score: i % 6 === 0 ? null : i % 3 === 0 ? 50 : i % 97, bucket: null, breakdown: [] }, // one heavy tie and nulls
        billing: { mrr: i % 5 === 0 ? null : 1_000 * (i % 4), plan: null, payment_status: 'paid' as const },
      })),
    );
  });

  async function sortedRead(spec: WalkSpec): Promise<number[]> {
    const order = spec.key ? { [spec.key.path]: spec.dir, display_id: spec.dir } : { display_id: spec.dir };
    return (await Customer.find(spec.eq, { display_id: 1 }).sort(order as any).lean()).map((c) => c.display_id);
  }
  async function walked(spec: WalkSpec, from: Position | null, fences: Fences): Promise<number[]> {
    const out: number[] = [];
    for await (const doc of walkIndex(spec, from, fences)) out.push(doc.display_id);
    return out;
  }
  async function checkEveryWay(fencesOf: (spec: WalkSpec) => Promise<Fences>) {
    for (const [name, sort] of Object.entries(SORTS)) {
      for (const dir of [1, -1] as const) {
        const spec: WalkSpec = { eq: { workspace_id: fenceWs, status: 'active' }, key: sort.key, dir };
        const fences = await fencesOf(spec);
        const want = await sortedRead(spec);
        expect(await walked(spec, null, fences), `${name} ${dir}`).toEqual(want);
        const docs = await Customer.find({ workspace_id: fenceWs, display_id: { $in: [want[0]!, want[37]!, want[150]!, want.at(-2)!] } }).lean();
        for (const doc of docs) {
          const from: Position = { k: sort.key ? keyOf(doc, sort.key.path) : null, d: doc.display_id };
          expect(await walked(spec, from, fences), `${name} ${dir} after #${doc.display_id}`).toEqual(want.slice(want.indexOf(doc.display_id) + 1));
        }
      }
    }
  }
  const PATHS = [...new Set(Object.values(SORTS).map((s) => s.key?.path ?? 'display_id'))];
  const takeFor = (step: number) => async (spec: WalkSpec) => (await takeFences(fenceWs, PATHS, step)).get(`active ${spec.key?.path ?? 'display_id'}`)!;

  it('returns what a sorted read does, with fences of any step', async () => {
    for (const step of [2, 17, 1_000]) await checkEveryWay(takeFor(step));
  });

  it('still does when the book changed after the fences were taken', async () => {
    const stale = new Map<string, Fences>();
    for (const [name, sort] of Object.entries(SORTS)) stale.set(name, await takeFor(5)({ eq: { workspace_id: fenceWs, status: 'active' }, key: sort.key, dir: 1 }));
    await Customer.deleteMany({ workspace_id: fenceWs, display_id: { $gte: 100, $lt: 160 } });
    await Customer.updateMany({ workspace_id: fenceWs, display_id: { $gte: 200, $lt: 260 } }, { $set: { name_lower: 'zzz moved', 'billing.mrr': 99_999, 'health.score': null } });
    await createCustomers(fenceWs, Array.from({ length: 80 }, (_, i) => ({ name: `Aaa new ${i}`, domain: `n${i}.example`, status: 'active' as const, billing: { mrr: 500, plan: null, payment_status: 'paid' as const } })));
    await checkEveryWay(async (spec) => stale.get(Object.entries(SORTS).find(([, s]) => s.key === spec.key)![0])!);
  });
});
