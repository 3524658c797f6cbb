// What the portal's customer pages ask of the core besides the list (list.ts): one
// customer with billing, health breakdown, contacts, sources and recent activity; status
// changes and resyncs from the page; the history and exports as streams. Members (CSMs)
// see only the customers they own; owners and admins see the whole book.
import { Types } from 'mongoose';
import { Customer } from '../models/customer.ts';
import type { ListParams, PortalMember } from './list.ts';
import { Contact } from '../models/contact.ts';
import { Workspace } from '../models/workspace.ts';
import { AppError } from '../errors.ts';
import { enqueue } from '../jobs/agenda.ts';
import { searchCustomers } from './search.ts';
import { customerView, CUSTOMER_CSV_COLUMNS, type CustomerView } from './view.ts';
import { setCustomerStatus, SETTABLE_STATUSES } from './status.ts';
import { customerHistory, recentHistory } from '../activity/activity.ts';

export type { PortalMember } from './list.ts';

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
