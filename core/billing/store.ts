// Reads and writes of customers' billing fields (core/models/billing.ts). A write inserts
// a new version per customer and then prunes that customer's older versions; a reader
// takes the newest version (by written_at, then _id). Two writers racing on one customer
// therefore both land, the later one wins, and nothing reads a half-written state: the
// new version exists before the old one goes. Readers see customers with `billing`
// attached in the shape they always had.
import { Types } from 'mongoose';
import { CustomerBilling } from '../models/billing.ts';
import type { PaymentStatus } from '../models/customer.ts';

export interface BillingView {
  mrr: number | null;
  plan: string | null;
  payment_status: PaymentStatus;
  billing_started_at: Date | null;
  stripe_customer_id: string | null;
  stripe_customer_ids: string[];
  stripe_livemode: boolean | null;
  stripe_connection_id: Types.ObjectId | null;
  payment_invoice_id: string | null;
  synced_at: Date | null;
}

/** What a customer no Stripe connection bills shows. */
export const noBilling = (): BillingView => ({
  mrr: null, plan: null, payment_status: 'none', billing_started_at: null, stripe_customer_id: null, stripe_customer_ids: [],
  stripe_livemode: null, stripe_connection_id: null, payment_invoice_id: null, synced_at: null,
});

interface StoredBilling extends BillingView {
  _id: Types.ObjectId;
  customer_id: Types.ObjectId;
  written_at: Date;
}

const IN_BATCH = 1_000;
const DELETE_BATCH = 5_000;

export function toView(d: Partial<BillingView> | null | undefined): BillingView {
  if (!d) return noBilling();
  return {
    mrr: d.mrr ?? null,
    plan: d.plan ?? null,
    payment_status: (d.payment_status ?? 'none') as PaymentStatus,
    billing_started_at: d.billing_started_at ?? null,
    stripe_customer_id: d.stripe_customer_id ?? null,
    stripe_customer_ids: d.stripe_customer_ids ?? [],
    stripe_livemode: d.stripe_livemode ?? null,
    stripe_connection_id: d.stripe_connection_id ?? null,
    payment_invoice_id: d.payment_invoice_id ?? null,
    synced_at: d.synced_at ?? null,
  };
}

const newer = (a: { written_at: Date; _id: Types.ObjectId }, b: { written_at: Date; _id: Types.ObjectId }) =>
  a.written_at.getTime() - b.written_at.getTime() || String(a._id).localeCompare(String(b._id));

/** Newest version per customer id (hex) among these documents. */
export function newestByCustomer<T extends { customer_id: Types.ObjectId; written_at: Date; _id: Types.ObjectId }>(docs: Iterable<T>, into = new Map<string, T>()): Map<string, T> {
  for (const d of docs) {
    const key = String(d.customer_id);
    const cur = into.get(key);
    if (!cur || newer(d, cur) > 0) into.set(key, d);
  }
  return into;
}

/** Current billing of these customers (customers without any are absent from the map). */
export async function billingFor(customerIds: (Types.ObjectId | string)[]): Promise<Map<string, BillingView>> {
  const ids = [...new Set(customerIds.map(String))].map((id) => new Types.ObjectId(id));
  const newest = new Map<string, StoredBilling>();
  for (let i = 0; i < ids.length; i += IN_BATCH) {
    newestByCustomer((await CustomerBilling.find({ customer_id: { $in: ids.slice(i, i + IN_BATCH) } }).lean()) as StoredBilling[], newest);
  }
  return new Map([...newest].map(([k, d]) => [k, toView(d)]));
}

/** Current billing of a workspace's customers, or of those written at or after `since`. */
export async function workspaceBilling(workspaceId: Types.ObjectId, since?: Date): Promise<Map<string, BillingView & { written_at: Date }>> {
  const q: Record<string, unknown> = { workspace_id: workspaceId };
  if (since) q.written_at = { $gte: since };
  const newest = newestByCustomer((await CustomerBilling.find(q).lean()) as StoredBilling[]);
  return new Map([...newest].map(([k, d]) => [k, { ...toView(d), written_at: d.written_at }]));
}

/** Above this many customers of one workspace, one read of its whole billing beats `$in` batches. */
const WHOLE_WORKSPACE_FROM = 200;

/** Sets `billing` on each customer document (in place) from the billing store. */
export async function attachBilling<T extends { _id: unknown; workspace_id?: unknown }>(docs: T[]): Promise<(T & { billing: BillingView })[]> {
  // FerretDB compares every document with every `$in` value: a long list (the CLI listing a
  // whole book) costs a scan per thousand ids, the whole workspace one scan.
  const workspaces = new Set(docs.map((d) => String(d.workspace_id ?? '')));
  const only = workspaces.size === 1 ? [...workspaces][0]! : '';
  const found: Map<string, BillingView> =
    docs.length > WHOLE_WORKSPACE_FROM && Types.ObjectId.isValid(only) ? await workspaceBilling(new Types.ObjectId(only)) : await billingFor(docs.map((d) => String(d._id)));
  for (const d of docs) (d as T & { billing: BillingView }).billing = found.get(String(d._id)) ?? noBilling();
  return docs as (T & { billing: BillingView })[];
}

export async function withBilling<T extends { _id: unknown }>(doc: T | null): Promise<(T & { billing: BillingView }) | null> {
  if (!doc) return null;
  return (await attachBilling([doc]))[0]!;
}

export interface BillingWrite {
  workspaceId: Types.ObjectId;
  customerId: Types.ObjectId;
  billing: BillingView;
}

/**
 * Writes new billing versions. With `prune` (the default) the customers' older versions
 * are deleted right after; a long walk passes false and calls pruneBilling once at its end.
 */
export async function writeBilling(writes: BillingWrite[], opts: { prune?: boolean } = {}): Promise<Date> {
  const writtenAt = new Date();
  if (!writes.length) return writtenAt;
  const docs = writes.map((w) => ({ _id: new Types.ObjectId(), workspace_id: w.workspaceId, customer_id: w.customerId, written_at: writtenAt, ...w.billing }));
  for (let i = 0; i < docs.length; i += DELETE_BATCH) await CustomerBilling.collection.insertMany(docs.slice(i, i + DELETE_BATCH), { ordered: false });
  if (opts.prune !== false) await pruneBilling(writes.map((w) => w.customerId), writtenAt);
  return writtenAt;
}

/** Deletes these customers' billing versions written before `before` (their newer one stays). */
export async function pruneBilling(customerIds: Types.ObjectId[], before: Date): Promise<void> {
  // one statement per batch: FerretDB scans the collection once per statement, not per id
  for (let i = 0; i < customerIds.length; i += DELETE_BATCH) {
    await CustomerBilling.deleteMany({ customer_id: { $in: customerIds.slice(i, i + DELETE_BATCH) }, written_at: { $lt: before } });
  }
}

/** Maintenance: every superseded version left by a walk that stopped before its prune. */
export async function pruneSupersededBilling(): Promise<number> {
  const all = (await CustomerBilling.find({}, { customer_id: 1, written_at: 1 }).lean()) as { _id: Types.ObjectId; customer_id: Types.ObjectId; written_at: Date }[];
  const keep = new Set([...newestByCustomer(all).values()].map((d) => String(d._id)));
  const stale = all.filter((d) => !keep.has(String(d._id))).map((d) => d._id);
  for (let i = 0; i < stale.length; i += DELETE_BATCH) await CustomerBilling.deleteMany({ _id: { $in: stale.slice(i, i + DELETE_BATCH) } });
  return stale.length;
}

/** Customers of a workspace whose current billing lists this Stripe customer. */
export async function customersBillingStripeId(workspaceId: Types.ObjectId, stripeCustomerId: string): Promise<string[]> {
  const candidates = await CustomerBilling.distinct('customer_id', { workspace_id: workspaceId, stripe_customer_ids: stripeCustomerId });
  const current = await billingFor(candidates as Types.ObjectId[]);
  return [...current].filter(([, b]) => b.stripe_customer_ids.includes(stripeCustomerId)).map(([id]) => id);
}
