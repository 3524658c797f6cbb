// What the portal's customer pages ask of the core: the filtered, sorted, paged list; one
// customer with billing, health breakdown, contacts, sources and recent activity; status
// changes and resyncs from the page; the history and exports as streams. Members (CSMs)
// see only the customers they own; owners and admins see the whole book.
import { Types } from 'mongoose';
import { z } from 'zod';
import { Customer, CUSTOMER_STATUSES, PAYMENT_STATUSES } from '../models/customer.ts';
import { Contact } from '../models/contact.ts';
import { Workspace } from '../models/workspace.ts';
import { AppError } from '../errors.ts';
import { enqueue } from '../jobs/agenda.ts';
import { searchCustomers } from './search.ts';
import { customerView, CUSTOMER_CSV_COLUMNS, type CustomerView } from './view.ts';
import { setCustomerStatus, SETTABLE_STATUSES } from './status.ts';
import { customerHistory, recentHistory } from '../activity/activity.ts';

export interface PortalMember {
  workspaceId: string;
  email: string;
  role: string;
}

export const PAGE_SIZE = 50;
export const SORTS = {
  name: { name_lower: 1 },
  '-mrr': { 'billing.mrr': -1 },
  mrr: { 'billing.mrr': 1 },
  health: { 'health.score': 1 },
  '-health': { 'health.score': -1 },
  id: { display_id: 1 },
  '-updated': { updatedAt: -1 },
} as const;
export type SortKey = keyof typeof SORTS;
const BUCKETS = ['healthy', 'watch', 'at_risk', 'none'] as const;

export const listParams = z.object({
  q: z.string().trim().max(200, 'the search text is too long (at most 200 characters)').optional(),
  status: z.enum([...CUSTOMER_STATUSES, 'all'] as [string, ...string[]]).optional(),
  owner: z.string().trim().max(320).optional(),
  plan: z.string().trim().max(200).optional(),
  payment: z.enum(PAYMENT_STATUSES).optional(),
  bucket: z.enum(BUCKETS).optional(),
  sort: z.enum(Object.keys(SORTS) as [SortKey, ...SortKey[]]).optional(),
  page: z.coerce.number().int().min(1).max(100_000).optional(),
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
  return parsed.data;
}

const wsId = (m: PortalMember) => new Types.ObjectId(m.workspaceId);

/** The part of the book this member may see. */
async function visibility(m: PortalMember): Promise<Record<string, unknown>> {
  if (m.role === 'owner' || m.role === 'admin') return {};
  const ws = await Workspace.findById(wsId(m), { members: 1 }).lean();
  const me = ws?.members.find((x) => x.email === m.email);
  return { $or: [{ owner_email: m.email }, ...(me ? [{ owner_member_id: me._id }] : [])] };
}

async function listQuery(m: PortalMember, p: ListParams): Promise<Record<string, unknown>> {
  const and: Record<string, unknown>[] = [{ workspace_id: wsId(m) }, await visibility(m)];
  if (p.q) {
    const hits = await searchCustomers(wsId(m), p.q, { limit: 100 });
    and.push({ _id: { $in: hits.customers.map((c: any) => c._id) } });
    if (!p.status) p = { ...p, status: 'all' }; // a search finds churned customers too
  }
  if (!p.status) and.push({ status: { $in: ['active', 'at_risk'] } });
  else if (p.status !== 'all') and.push({ status: p.status });
  if (p.owner) and.push({ owner_email: p.owner.toLowerCase() });
  if (p.plan) and.push({ $or: [{ 'billing.plan': p.plan }, { plan: p.plan }] });
  if (p.payment) and.push(p.payment === 'none' ? { 'billing.payment_status': { $in: ['none', null] } } : { 'billing.payment_status': p.payment });
  if (p.bucket) and.push({ 'health.bucket': p.bucket === 'none' ? null : p.bucket });
  return { $and: and.filter((c) => Object.keys(c).length) };
}

export interface CustomerListPage {
  rows: CustomerView[];
  page: number;
  has_next: boolean;
  params: ListParams;
  owners: string[];
  plans: string[];
}

/** One page of the list: PAGE_SIZE rows on an indexed sort, plus whether another page follows. */
export async function customerListPage(m: PortalMember, p: ListParams): Promise<CustomerListPage> {
  const page = p.page ?? 1;
  const sort = { ...SORTS[p.sort ?? 'name'], _id: 1 } as Record<string, 1 | -1>;
  const docs = await Customer.find(await listQuery(m, p)).sort(sort).skip((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1).lean();
  const ws = await Workspace.findById(wsId(m), { members: 1, settings: 1 }).lean();
  return {
    rows: docs.slice(0, PAGE_SIZE).map(customerView),
    page,
    has_next: docs.length > PAGE_SIZE,
    params: p,
    owners: (ws?.members ?? []).map((x) => x.email).sort(),
    plans: [...(ws?.settings?.plans ?? [])],
  };
}

/** Every customer the list's filters select, one at a time (exports; never held in memory). */
export async function* exportCustomers(m: PortalMember, p: ListParams): AsyncGenerator<CustomerView> {
  const cursor = Customer.find(await listQuery(m, { ...p, status: p.status ?? 'all' })).sort({ display_id: 1 }).lean().cursor({ batchSize: 500 });
  for await (const c of cursor) yield customerView(c);
}
export const EXPORT_CSV_COLUMNS = CUSTOMER_CSV_COLUMNS;

async function visibleCustomer(m: PortalMember, displayId: string) {
  if (!/^\d{1,12}$/.test(displayId)) throw new AppError('not_found', 'Customer not found');
  const c = await Customer.findOne({ $and: [{ workspace_id: wsId(m), display_id: Number(displayId) }, await visibility(m)] }).lean();
  if (!c) throw new AppError('not_found', 'Customer not found');
  return c;
}

export async function customerDetail(m: PortalMember, displayId: string) {
  const c = await visibleCustomer(m, displayId);
  const contacts = await Contact.find({ customer_id: c._id, archived_at: null }, { name: 1, email: 1, title: 1, phone: 1, is_primary: 1 }).sort({ is_primary: -1, name: 1 }).limit(100).lean();
  return {
    customer: customerView(c),
    status_reason: c.status_reason ?? null,
    win_back_at: c.win_back_at ? new Date(c.win_back_at).toISOString() : null,
    health: { score: c.health?.score ?? null, bucket: c.health?.bucket ?? null, computed_at: c.health?.computed_at ? new Date(c.health.computed_at).toISOString() : null, breakdown: (c.health?.breakdown ?? []) as any[] },
    contacts: contacts.map((x) => ({ name: x.name, email: x.email, title: x.title, phone: x.phone, is_primary: !!x.is_primary })),
    activity: await recentHistory(c.workspace_id, c._id, 50),
    statuses: SETTABLE_STATUSES,
  };
}

export async function changeStatusFromPortal(m: PortalMember, displayId: string, status: string, reason: string | null) {
  const c = await visibleCustomer(m, displayId);
  const res = await setCustomerStatus({ workspaceId: c.workspace_id, customerId: c._id, status: status as any, reason, actor: { type: 'user', id: m.email } });
  return res.changed ? `${c.name} is now ${res.status.replace('_', ' ')}.` : `${c.name} was already ${res.status.replace('_', ' ')}.`;
}

export async function resyncFromPortal(m: PortalMember, displayId: string) {
  const c = await visibleCustomer(m, displayId);
  if (!c.sources?.length) throw new AppError('conflict', `${c.name} has no source record to resync from.`);
  await enqueue('sync.resync_customer', { customer_id: String(c._id), actor: { type: 'user', id: m.email } });
  return `Resync of ${c.name} queued; the page shows the result once the worker has run it.`;
}

/** The customer's whole history for history.csv, oldest first. */
export async function customerHistoryStream(m: PortalMember, displayId: string) {
  const c = await visibleCustomer(m, displayId);
  return { displayId: c.display_id, rows: customerHistory(c.workspace_id, c._id) };
}
