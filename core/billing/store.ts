// Reads and writes of customers' billing fields, which live on the customer document
// (`billing`, core/models/customer.ts). Writes are one bulkWrite of `$set`s; readers get
// customers with `billing` in one shape whatever the document held.
import { Types } from 'mongoose';
import { Customer, type PaymentStatus } from '../models/customer.ts';

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

/** Current billing of these customers (customers that do not exist are absent from the map). */
export async function billingFor(customerIds: (Types.ObjectId | string)[]): Promise<Map<string, BillingView>> {
  const ids = [...new Set(customerIds.map(String))].map((id) => new Types.ObjectId(id));
  const docs = await Customer.find({ _id: { $in: ids } }, { billing: 1 }).lean<{ _id: Types.ObjectId; billing?: BillingView }[]>();
  return new Map(docs.map((d) => [String(d._id), toView(d.billing)]));
}

/** Gives each customer document its `billing` in the reader's shape (in place). */
export async function attachBilling<T extends { _id: unknown }>(docs: T[]): Promise<(T & { billing: BillingView })[]> {
  // Documents loaded with a projection that left billing out are read again, by _id.
  const missing = docs.filter((d) => !('billing' in d)).map((d) => String(d._id));
  const found = missing.length ? await billingFor(missing) : new Map<string, BillingView>();
  for (const d of docs) {
    const doc = d as T & { billing?: Partial<BillingView> };
    doc.billing = 'billing' in d ? toView(doc.billing) : (found.get(String(d._id)) ?? noBilling());
  }
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

/** Sets these customers' billing in one unordered bulkWrite; returns the write time. */
export async function writeBilling(writes: BillingWrite[]): Promise<Date> {
  const writtenAt = new Date();
  if (!writes.length) return writtenAt;
  await Customer.bulkWrite(
    writes.map((w) => ({ updateOne: { filter: { _id: w.customerId, workspace_id: w.workspaceId }, update: { $set: { billing: w.billing } } } })),
    { ordered: false },
  );
  return writtenAt;
}

/** Customers of a workspace whose billing lists this Stripe customer. */
export async function customersBillingStripeId(workspaceId: Types.ObjectId, stripeCustomerId: string): Promise<string[]> {
  const ids = await Customer.distinct('_id', { workspace_id: workspaceId, 'billing.stripe_customer_ids': stripeCustomerId });
  return ids.map(String);
}
