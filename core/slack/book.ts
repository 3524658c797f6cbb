// The data the Slack bot shows, always scoped to the workspace the Slack team maps to
// (the bot never queries MongoDB itself): one customer by id, the at-risk and failing
// lists, a user's own book, and owner names for cards.
import { Types } from 'mongoose';
import { Customer, WITHOUT_SEARCH_KEYS } from '../models/customer.ts';
import { Workspace } from '../models/workspace.ts';
import { customerSourceLink, queueCustomerResync } from '../sync/engine.ts';
import { attachBilling, withBilling } from '../billing/store.ts';
import { topOfList } from './top-list.ts';

export const LIST_LIMIT = 20;
const asId = (id: string | Types.ObjectId) => (typeof id === 'string' ? new Types.ObjectId(id) : id);

/** A customer of this workspace, or null (an id from another workspace is "not found"). */
export async function customerInWorkspace(workspaceId: string | Types.ObjectId, customerId: string) {
  if (!Types.ObjectId.isValid(customerId)) return null;
  return withBilling(await Customer.findOne({ _id: new Types.ObjectId(customerId), workspace_id: asId(workspaceId), status: { $ne: 'archived' } }).lean());
}

const LIVE_STATUSES = new Set(['active', 'at_risk']);
const FAILING: ('failing' | 'past_due')[] = ['failing', 'past_due'];
// As in core/customers/search.ts, filters stay within index bounds; statuses the lists leave
// out are dropped after the (bounded) read. The two lists are read through topOfList, which
// keeps each read to about the rows it returns.

/** At-risk customers, lowest health first (unscored ones last). */
export async function atRiskCustomers(workspaceId: string | Types.ObjectId, limit = LIST_LIMIT) {
  const base = { workspace_id: asId(workspaceId), status: 'at_risk' as const };
  const scored = await topOfList(
    `at_risk:${base.workspace_id}`,
    limit,
    (bound) => Customer.find({ ...base, 'health.score': bound === undefined ? { $gte: 0 } : { $gte: 0, $lte: bound } }, WITHOUT_SEARCH_KEYS).sort({ 'health.score': 1, display_id: 1 }).limit(limit).lean(),
    (c) => c.health?.score,
  );
  const unscored = scored.length < limit ? await Customer.find({ ...base, 'health.score': null }, WITHOUT_SEARCH_KEYS).sort({ display_id: 1 }).limit(limit - scored.length).lean() : [];
  return attachBilling([...scored, ...unscored]);
}

/** Active and at-risk customers whose payment is failing or past due, highest MRR first. */
export async function failingCustomers(workspaceId: string | Types.ObjectId, limit = LIST_LIMIT) {
  const workspace_id = asId(workspaceId);
  const read = async (bound?: number) => {
    const mrr = bound === undefined ? {} : { 'billing.mrr': { $gte: bound } };
    const per = await Promise.all(FAILING.map((status) => Customer.find({ workspace_id, 'billing.payment_status': status, ...mrr }, WITHOUT_SEARCH_KEYS).sort({ 'billing.mrr': -1 }).limit(limit * 3).lean()));
    const docs = per.flat().filter((c) => LIVE_STATUSES.has(c.status));
    return docs.sort((a, b) => (b.billing?.mrr ?? 0) - (a.billing?.mrr ?? 0) || a.display_id - b.display_id).slice(0, limit);
  };
  return attachBilling(await topOfList(`failing:${workspace_id}`, limit, read, (c) => c.billing?.mrr));
}

/**
 * The customers a Slack user owns: matched through the workspace member with that
 * slack_user_id, or with the user's Slack email (the caller looks it up via users.info).
 * At risk and failing first, then by MRR.
 */
export async function bookOfSlackUser(workspaceId: string | Types.ObjectId, slackUserId: string, email: string | null, limit = 200) {
  const ws = await Workspace.findById(asId(workspaceId), { members: 1 }).lean();
  const lowered = email?.toLowerCase() ?? null;
  const member = ws?.members?.find((m) => m.slack_user_id === slackUserId) ?? (lowered ? ws?.members?.find((m) => m.email === lowered) : undefined);
  const or: Record<string, unknown>[] = [];
  if (member) or.push({ owner_member_id: member._id });
  const ownerEmail = member?.email ?? lowered;
  if (ownerEmail) or.push({ owner_email: ownerEmail });
  if (!or.length) return { matched: false, customers: [] as any[] };
  const reads = await Promise.all(or.map((owner) => Customer.find({ workspace_id: asId(workspaceId), ...owner }, WITHOUT_SEARCH_KEYS).limit(limit * 2).lean()));
  const unique = new Map(reads.flat().filter((c) => LIVE_STATUSES.has(c.status)).map((c) => [String(c._id), c]));
  const docs: any[] = await attachBilling([...unique.values()].slice(0, limit));
  const rank = (c: any) => (c.status === 'at_risk' ? 0 : 2) + (FAILING.includes(c.billing?.payment_status) ? 0 : 1);
  docs.sort((a, b) => rank(a) - rank(b) || (b.billing?.mrr ?? 0) - (a.billing?.mrr ?? 0));
  return { matched: true, customers: docs };
}

/** Who owns a customer, for the card: a Slack mention when the member is linked, else name or email. */
export async function ownerOf(workspaceId: string | Types.ObjectId, customer: { owner_member_id?: unknown; owner_email?: string | null }) {
  if (customer.owner_member_id) {
    const ws = await Workspace.findById(asId(workspaceId), { members: 1 }).lean();
    const m = ws?.members?.find((x) => String(x._id) === String(customer.owner_member_id));
    if (m) return { slackUserId: m.slack_user_id ?? null, label: m.name || m.email };
  }
  return customer.owner_email ? { slackUserId: null, label: customer.owner_email } : null;
}

/** Queues the card's Resync; false when the customer has no source record to re-read. */
export async function requestCustomerResync(customerId: string, actor: { type: 'slack_user'; id: string }): Promise<boolean> {
  if (!(await customerSourceLink(customerId))) return false;
  await queueCustomerResync(customerId, actor);
  return true;
}
