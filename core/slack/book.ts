// The data the Slack bot shows, always scoped to the workspace the Slack team maps to
// (the bot never queries MongoDB itself): one customer by id, the at-risk and failing
// lists, a user's own book, and owner names for cards.
import { Types } from 'mongoose';
import { Customer } from '../models/customer.ts';
import { customerSearchIndex, warmCustomerSearch } from '../customers/search-index.ts';
import { SlackInstallation } from '../models/slack.ts';
import { log } from '../log.ts';
import { Workspace } from '../models/workspace.ts';
import { customerSourceLink, queueCustomerResync } from '../sync/engine.ts';
import { withBilling } from '../billing/store.ts';

export const LIST_LIMIT = 20;
const asId = (id: string | Types.ObjectId) => (typeof id === 'string' ? new Types.ObjectId(id) : id);

/** A customer of this workspace, or null (an id from another workspace is "not found"). */
export async function customerInWorkspace(workspaceId: string | Types.ObjectId, customerId: string) {
  if (!Types.ObjectId.isValid(customerId)) return null;
  return withBilling(await Customer.findOne({ _id: new Types.ObjectId(customerId), workspace_id: asId(workspaceId), status: { $ne: 'archived' } }).lean());
}

// The lists come from the workspace's in-memory customer index (core/customers/
// search-index.ts): on FerretDB every query is a full scan, and the index already holds
// each customer's status, payment status, owner and document.
export async function atRiskCustomers(workspaceId: string | Types.ObjectId, limit = LIST_LIMIT) {
  const ix = await customerSearchIndex(asId(workspaceId));
  const score = (s: number) => (Number.isNaN(ix.healthScores[s]!) ? 101 : ix.healthScores[s]!);
  const slots = ix.where((s) => ix.statuses[s] === 'at_risk').sort((a, b) => score(a) - score(b) || ix.displayIds[a]! - ix.displayIds[b]!);
  return slots.slice(0, limit).map((s) => ix.doc(s) as any);
}

const FAILING = new Set(['failing', 'past_due']);
export async function failingCustomers(workspaceId: string | Types.ObjectId, limit = LIST_LIMIT) {
  const ix = await customerSearchIndex(asId(workspaceId));
  const mrr = (s: number) => (Number.isNaN(ix.mrrs[s]!) ? 0 : ix.mrrs[s]!);
  const slots = ix.where((s) => (ix.statuses[s] === 'active' || ix.statuses[s] === 'at_risk') && FAILING.has(ix.payments[s]!)).sort((a, b) => mrr(b) - mrr(a) || ix.displayIds[a]! - ix.displayIds[b]!);
  return slots.slice(0, limit).map((s) => ix.doc(s) as any);
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
  const ix = await customerSearchIndex(asId(workspaceId));
  const memberId = member ? String(member._id) : null;
  const docs: any[] = ix
    .where((s) => (ix.statuses[s] === 'active' || ix.statuses[s] === 'at_risk') && ((memberId !== null && ix.ownerIds[s] === memberId) || (ownerEmail !== null && ix.ownerEmails[s] === ownerEmail)))
    .slice(0, limit)
    .map((s) => ix.doc(s));
  const rank = (c: any) => (c.status === 'at_risk' ? 0 : 2) + (c.billing?.payment_status === 'failing' || c.billing?.payment_status === 'past_due' ? 0 : 1);
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

/**
 * Builds the customer index of every Slack-linked workspace in the background at bot
 * start, so the first `/pivotal` after a deploy answers from memory rather than waiting
 * for a build (tens of seconds at 100,000 customers on FerretDB).
 */
export async function warmLinkedWorkspaces(): Promise<void> {
  const ids = await SlackInstallation.distinct('workspace_id');
  for (const id of ids) {
    const started = Date.now();
    try {
      const size = await warmCustomerSearch(id as Types.ObjectId);
      log.info({ workspace: String(id), customers: size, ms: Date.now() - started }, 'customer search index warmed');
    } catch (err) {
      log.warn({ workspace: String(id), err }, 'customer search warm-up failed; it will build on first use');
    }
  }
}
