// Counters for numeric ids (customer display_id per workspace): one document per key,
// advanced with an atomic `$inc` upsert, so concurrent syncs never hand out the same number.
import { Schema, type Types } from 'mongoose';
import { defineModel } from './define.ts';
import { AppError, isDuplicateKeyError } from '../errors.ts';

const counterSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, default: 0 } }, { versionKey: false });
export const Counter = defineModel('Counter', counterSchema, 'counters');

/** Reserves `count` consecutive numbers and returns the first. */
export async function nextSequence(key: string, count = 1): Promise<number> {
  if (!Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
  const bump = () => Counter.findOneAndUpdate({ _id: key }, { $inc: { seq: count } }, { upsert: true, returnDocument: 'after' }).lean<{ seq: number }>();
  // Two first-ever upserts of one key can race to insert it; the loser simply retries the $inc.
  const doc = await bump().catch((e) => (isDuplicateKeyError(e) ? bump() : Promise.reject(e)));
  if (!doc) throw new AppError('unavailable', `The database applied the ${key} counter update without returning the document; try again`);
  return doc.seq - count + 1;
}

/** Creates a counter at 0 if it does not exist (workspaces create theirs up front). */
export async function ensureCounter(key: string): Promise<void> {
  await Counter.updateOne({ _id: key }, { $setOnInsert: { seq: 0 } }, { upsert: true }).catch((e) => {
    if (!isDuplicateKeyError(e)) throw e;
  });
}

const displayIdKey = (workspaceId: Types.ObjectId | string) => `customer_display_id:${String(workspaceId)}`;

export const ensureDisplayIdCounter = (workspaceId: Types.ObjectId | string) => ensureCounter(displayIdKey(workspaceId));

export async function nextDisplayIds(workspaceId: Types.ObjectId | string, count = 1): Promise<number> {
  return nextSequence(displayIdKey(workspaceId), count);
}

/** The last display id handed out in the workspace (0: none yet, or no counter). */
export async function lastDisplayId(workspaceId: Types.ObjectId | string): Promise<number> {
  const doc = await Counter.findById(displayIdKey(workspaceId)).lean<{ seq: number }>();
  return doc?.seq ?? 0;
}
