// The portal's customer list at any book size: search, filters (status, owner, plan, payment
// status, health bucket), seven sorts and keyset pages, for owners and admins over the whole
// book and for members over the customers they own.
//
// Every read stays inside one index's bounds (README, engine notes): a small candidate set
// (search hits, a member's book, one owner's customers) is read whole through its index and
// sorted here; anything larger is walked per status in the sort's index order, one window
// between two fences at a time (walk.ts, fences.ts), and the other filters are applied to the
// rows read. A walk reads at most SCAN_BUDGET rows per page (5× that when those held no
// match): a rare combination of filters may show a short page with a Next link rather than
// read the whole book in one request.
import { Types } from 'mongoose';
import { z } from 'zod';
import { Customer, CUSTOMER_STATUSES, PAYMENT_STATUSES, WITHOUT_SEARCH_KEYS } from '../models/customer.ts';
import { Workspace } from '../models/workspace.ts';
import { AppError } from '../errors.ts';
import { searchCustomers, unlessTimedOut } from './search.ts';
import { customerView, type CustomerView } from './view.ts';
import { walkIndex, type KeyHints, type Position, type WalkSpec } from './walk.ts';
import { fencesFor } from './fences.ts';
import { compareValues, keyOf } from './sort-value.ts';

export interface PortalMember {
  workspaceId: string;
  email: string;
  role: string;
}

export const PAGE_SIZE = 50;
/** rows a walk may read for one page */
const SCAN_BUDGET = 3_000;
/** how much further a walk reads when its budget found nothing to show */
const EMPTY_PAGE_FACTOR = 5;
/** a candidate set this small is read whole and sorted here */
const SMALL_SET = 500;
const SMALL_SET_MS = 40;
const DEFAULT_STATUSES = ['active', 'at_risk'];

type SortSpec = { key: ({ path: string } & KeyHints) | null; dir: 1 | -1 };
const NAME = { path: 'name_lower', kind: 'string', nullable: false } as const; // a name is required
const MRR = { path: 'billing.mrr', kind: 'number', nullable: true } as const;
const HEALTH = { path: 'health.score', kind: 'number', nullable: true } as const;
const UPDATED = { path: 'updatedAt', kind: 'date', nullable: false } as const; // set by mongoose timestamps
export const SORTS: Record<string, SortSpec> = {
  name: { key: NAME, dir: 1 },
  '-mrr': { key: MRR, dir: -1 },
  mrr: { key: MRR, dir: 1 },
  health: { key: HEALTH, dir: 1 },
  '-health': { key: HEALTH, dir: -1 },
  id: { key: null, dir: 1 },
  '-updated': { key: UPDATED, dir: -1 },
};
export type SortKey = keyof typeof SORTS;
/** every index order a list walks (fences are taken for all of them at once) */
const SORT_PATHS = [...new Set(Object.values(SORTS).map((s) => s.key?.path ?? 'display_id'))];
const BUCKETS = ['healthy', 'watch', 'at_risk', 'none'] as const;
const cursorText = z.string().max(1_000).regex(/^[A-Za-z0-9_-]+$/, 'is not a page link this list made');

export const listParams = z.object({
  q: z.string().trim().max(200, 'the search text is too long (at most 200 characters)').optional(),
  status: z.enum([...CUSTOMER_STATUSES, 'all'] as [string, ...string[]]).optional(),
  owner: z.string().trim().max(320).optional(),
  plan: z.string().trim().max(200).optional(),
  payment: z.enum(PAYMENT_STATUSES).optional(),
  bucket: z.enum(BUCKETS).optional(),
  sort: z.enum(Object.keys(SORTS) as [SortKey, ...SortKey[]]).optional(),
  page: z.coerce.number().int().min(1).max(100).optional(),
  after: cursorText.optional(),
  before: cursorText.optional(),
});
export type ListParams = z.infer<typeof listParams>;

/** Reads list parameters from a query string: empty values are absent, bad ones an error. */
export function parseListParams(search: URLSearchParams): ListParams {
  const raw = Object.fromEntries([...search].filter(([, v]) => v !== ''));
  const parsed = listParams.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError('bad_input', `${issue.path.join('.') || 'filter'}: ${issue.message}`);
  }
  if (parsed.data.after) decodeCursor(parsed.data.after);
  if (parsed.data.before) decodeCursor(parsed.data.before);
  return parsed.data;
}

// A page link carries the position of a row: its sort value and display_id.
const cursorShape = z.object({ k: z.union([z.string(), z.number(), z.null(), z.object({ t: z.number() })]), d: z.number().int() });
export function encodeCursor(p: Position): string {
  const k = p.k instanceof Date ? { t: p.k.getTime() } : p.k;
  return Buffer.from(JSON.stringify({ k, d: p.d })).toString('base64url');
}
function decodeCursor(text: string): Position {
  try {
    const c = cursorShape.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
    return { k: c.k !== null && typeof c.k === 'object' ? new Date(c.k.t) : c.k, d: c.d };
  } catch {
    throw new AppError('bad_input', 'page: this page link is not valid any more; start again from the first page');
  }
}

export interface CustomerListPage {
  rows: CustomerView[];
  page: number;
  /** cursors of the neighbouring pages (null: none) */
  next: string | null;
  prev: string | null;
  /** the walk stopped at its read budget: more rows may match beyond `next` */
  partial: boolean;
  params: ListParams;
  owners: string[];
  plans: string[];
}

/** One page of the list, PAGE_SIZE rows at most. */
export async function customerListPage(m: PortalMember, p: ListParams): Promise<CustomerListPage> {
  const ws = await Workspace.findById(new Types.ObjectId(m.workspaceId), { members: 1, settings: 1 }).lean();
  const me = ws?.members.find((x) => x.email === m.email);
  const ctx = listContext(m, p, me?._id ?? null);
  const found = (await smallSetPage(ctx)) ?? (await walkPage(ctx));
  return {
    ...found,
    rows: found.rows.map(customerView),
    page: p.page ?? 1,
    params: p,
    owners: (ws?.members ?? []).map((x) => x.email).sort(),
    plans: [...(ws?.settings?.plans ?? [])],
  };
}

interface ListContext {
  workspaceId: Types.ObjectId;
  p: ListParams;
  member: PortalMember;
  memberId: Types.ObjectId | null;
  statuses: string[];
  sort: SortSpec;
  accepts: (doc: any) => boolean;
}

function listContext(m: PortalMember, p: ListParams, memberId: Types.ObjectId | null): ListContext {
  // a search finds churned customers too (archived ones are never offered)
  const status = p.status ?? (p.q ? 'all' : undefined);
  const statuses = !status ? DEFAULT_STATUSES : status === 'all' ? [...CUSTOMER_STATUSES] : [status];
  const restricted = m.role !== 'owner' && m.role !== 'admin';
  const owner = p.owner?.toLowerCase();
  const bucket = p.bucket === 'none' ? null : p.bucket;
  const accepts = (c: any) =>
    statuses.includes(c.status) &&
    (!restricted || c.owner_email === m.email || (memberId !== null && String(c.owner_member_id) === String(memberId))) &&
    (!owner || c.owner_email === owner) &&
    (!p.plan || c.billing?.plan === p.plan || c.plan === p.plan) &&
    (!p.payment || (c.billing?.payment_status ?? 'none') === p.payment) &&
    (!p.bucket || (c.health?.bucket ?? null) === bucket);
  return { workspaceId: new Types.ObjectId(m.workspaceId), p, member: m, memberId, statuses, sort: SORTS[p.sort ?? 'name']!, accepts };
}

type Found = Pick<CustomerListPage, 'next' | 'prev' | 'partial'> & { rows: any[] };

/**
 * The candidates one indexed filter selects, when they are few: search hits, a member's own
 * book, one owner, one payment status or health bucket. Each read is capped and timed; the
 * first one that comes back small is the set, else null (the list is walked).
 */
async function smallSet(ctx: ListContext): Promise<any[] | null> {
  const { p, workspaceId } = ctx;
  if (p.q) return (await searchCustomers(workspaceId, p.q, { limit: 100 })).customers;
  const probes: Record<string, unknown>[][] = [];
  if (ctx.member.role !== 'owner' && ctx.member.role !== 'admin') {
    probes.push([{ owner_email: ctx.member.email }, ...(ctx.memberId ? [{ owner_member_id: ctx.memberId }] : [])]);
  }
  if (p.owner) probes.push([{ owner_email: p.owner.toLowerCase() }]);
  if (p.payment && p.payment !== 'none') probes.push([{ 'billing.payment_status': p.payment }]);
  if (p.bucket && p.bucket !== 'none') probes.push([{ 'health.bucket': p.bucket }]);
  for (const filters of probes.slice(0, 2)) {
    const reads = await Promise.all(
      filters.map((f) => Customer.find({ workspace_id: workspaceId, ...f }, WITHOUT_SEARCH_KEYS).limit(SMALL_SET + 1).maxTimeMS(SMALL_SET_MS).lean<any[]>().catch(unlessTimedOut(null))),
    );
    if (reads.some((r) => r === null || r.length > SMALL_SET)) continue;
    return [...new Map(reads.flat().map((d) => [String(d!._id), d])).values()];
  }
  return null;
}

async function smallSetPage(ctx: ListContext): Promise<Found | null> {
  const set = await smallSet(ctx);
  if (!set) return null;
  const cmp = compareRows(ctx.sort);
  const rows = set.filter(ctx.accepts).sort(cmp);
  const pos = (c: any) => positionOf(ctx.sort, c);
  let start: number;
  if (ctx.p.after) {
    const after = decodeCursor(ctx.p.after);
    start = rows.findIndex((c) => comparePositions(ctx.sort, pos(c), after) > 0);
    if (start < 0) start = rows.length;
  } else if (ctx.p.before) {
    const before = decodeCursor(ctx.p.before);
    const end = rows.findIndex((c) => comparePositions(ctx.sort, pos(c), before) >= 0);
    start = Math.max(0, (end < 0 ? rows.length : end) - PAGE_SIZE);
  } else start = ((ctx.p.page ?? 1) - 1) * PAGE_SIZE;
  const page = rows.slice(start, start + PAGE_SIZE);
  return {
    rows: page,
    next: start + PAGE_SIZE < rows.length ? encodeCursor(pos(page[page.length - 1])) : null,
    prev: start > 0 && page.length ? encodeCursor(pos(page[0])) : null,
    partial: false,
  };
}

/** A walk of every selected status in the sort's index, merged; PAGE_SIZE + 1 rows at most. */
async function walkPage(ctx: ListContext): Promise<Found> {
  const backwards = !!ctx.p.before;
  const from = ctx.p.after ? decodeCursor(ctx.p.after) : ctx.p.before ? decodeCursor(ctx.p.before) : null;
  const skip = !from ? ((ctx.p.page ?? 1) - 1) * PAGE_SIZE : 0;
  const want = skip + PAGE_SIZE + 1;
  const dir = (backwards ? -ctx.sort.dir : ctx.sort.dir) as 1 | -1;
  const walkAll = (rows: number) => Promise.all(ctx.statuses.map((status) => walkStatus(ctx, status, dir, from, want, Math.ceil((rows + skip) / ctx.statuses.length))));
  let walks = await walkAll(SCAN_BUDGET);
  // rather than an empty page with only a Next link, read on once (windows make rows cheap)
  if (walks.every((w) => !w.rows.length) && walks.some((w) => w.stoppedAt)) walks = await walkAll(SCAN_BUDGET * EMPTY_PAGE_FACTOR);
  const order = compareRows({ ...ctx.sort, dir });
  // a walk stopped by its budget may have unread rows before the others' later rows
  const stops = walks.filter((w) => w.stoppedAt).map((w) => w.stoppedAt!);
  const cut = stops.sort((a, b) => comparePositions({ ...ctx.sort, dir }, a, b))[0] ?? null;
  let rows = walks.flatMap((w) => w.rows).sort(order);
  if (cut) rows = rows.filter((c) => comparePositions({ ...ctx.sort, dir }, positionOf(ctx.sort, c), cut) <= 0);
  rows = rows.slice(skip);
  const more = rows.length > PAGE_SIZE || cut !== null;
  let page = rows.slice(0, PAGE_SIZE);
  const resume = page.length ? positionOf(ctx.sort, page[page.length - 1]) : cut;
  if (backwards) {
    page = page.reverse();
    return { rows: page, prev: more && page.length ? encodeCursor(positionOf(ctx.sort, page[0])) : null, next: page.length ? encodeCursor(positionOf(ctx.sort, page[page.length - 1])) : null, partial: cut !== null };
  }
  return {
    rows: page,
    next: more && resume ? encodeCursor(resume) : null,
    prev: (from || skip) && page.length ? encodeCursor(positionOf(ctx.sort, page[0])) : null,
    partial: cut !== null,
  };
}

async function walkStatus(ctx: ListContext, status: string, dir: 1 | -1, from: Position | null, want: number, budget: number) {
  const key = ctx.sort.key;
  const spec: WalkSpec = { eq: { workspace_id: ctx.workspaceId, status }, key, dir };
  const rows: any[] = [];
  let read = 0;
  let stoppedAt: Position | null = null;
  const fences = await fencesFor(ctx.workspaceId, status, key?.path ?? 'display_id', SORT_PATHS);
  for await (const doc of walkIndex(spec, from, fences, want)) {
    read++;
    if (ctx.accepts(doc)) rows.push(doc);
    if (rows.length >= want) break;
    if (read >= budget) {
      stoppedAt = positionOf(ctx.sort, doc);
      break;
    }
  }
  return { rows, stoppedAt };
}

const positionOf = (sort: SortSpec, c: any): Position => ({ k: sort.key ? keyOf(c, sort.key.path) : null, d: c.display_id });

function comparePositions(sort: SortSpec, a: Position, b: Position): number {
  return sort.dir * (compareValues(a.k, b.k) || a.d - b.d);
}

const compareRows = (sort: SortSpec) => (a: any, b: any) => comparePositions(sort, positionOf(sort, a), positionOf(sort, b));
