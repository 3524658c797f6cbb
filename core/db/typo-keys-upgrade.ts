// One-time upgrade for databases from before customers had one-edit typo keys: fills
// `typo_keys` on every customer, then the caller builds the index. The missing index is the
// marker (it is created only after this pass), so a crash midway just runs it again at the
// next start; a database that has the index costs one listIndexes.
import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';
import { typoKeys } from '../text-keys.ts';

const INDEX = 'workspace_id_1_typo_keys_1';
const BATCH = 1000;

export async function fillTypoKeys(db: Db): Promise<number> {
  const customers = db.collection('customers');
  if (!(await db.listCollections({ name: 'customers' }, { nameOnly: true }).toArray()).length) return 0;
  if (await customers.indexExists(INDEX)) return 0;
  let filled = 0;
  let ops: AnyBulkWriteOperation<Document>[] = [];
  const flush = async () => {
    if (ops.length) await customers.bulkWrite(ops, { ordered: false });
    filled += ops.length;
    ops = [];
  };
  for await (const { _id, name } of customers.find({}, { projection: { name: 1 } })) {
    ops.push({ updateOne: { filter: { _id }, update: { $set: { typo_keys: typoKeys(String(name ?? '')) } } } });
    if (ops.length >= BATCH) await flush();
  }
  await flush();
  return filled;
}
