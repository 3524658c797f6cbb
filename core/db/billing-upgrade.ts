// One-time upgrade for databases from before billing moved onto the customer document:
// each customer's newest `customer_billing` version becomes its `billing`, unless the customer
// already has billing written since, then the old collection is dropped. Runs at start; a
// database without that collection costs one listCollections.
import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';

const OLD = 'customer_billing';
const FIELDS = ['mrr', 'plan', 'payment_status', 'billing_started_at', 'stripe_customer_id', 'stripe_customer_ids', 'stripe_livemode', 'stripe_connection_id', 'payment_invoice_id', 'synced_at'];

export async function moveBillingOntoCustomers(db: Db): Promise<number> {
  if (!(await db.listCollections({ name: OLD }, { nameOnly: true }).toArray()).length) return 0;
  const newest = db.collection(OLD).aggregate([{ $sort: { customer_id: 1, written_at: -1, _id: -1 } }, { $group: { _id: '$customer_id', doc: { $first: '$$ROOT' } } }], { allowDiskUse: true });
  let moved = 0;
  let ops: AnyBulkWriteOperation<Document>[] = [];
  const flush = async () => {
    if (ops.length) await db.collection('customers').bulkWrite(ops, { ordered: false });
    moved += ops.length;
    ops = [];
  };
  for await (const { _id, doc } of newest) {
    const billing = Object.fromEntries(FIELDS.map((f) => [f, doc[f] ?? (f === 'stripe_customer_ids' ? [] : f === 'payment_status' ? 'none' : null)]));
    // only where nothing newer was written on the customer itself
    ops.push({ updateOne: { filter: { _id, $or: [{ billing: { $exists: false } }, { 'billing.synced_at': null }] }, update: { $set: { billing } } } });
    if (ops.length >= 1000) await flush();
  }
  await flush();
  await db.collection(OLD).drop();
  return moved;
}
