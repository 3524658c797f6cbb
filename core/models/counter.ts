// Counters for numeric ids (customer display_id per workspace). $inc with upsert on a
// single document is atomic on MongoDB and FerretDB alike, so concurrent syncs never
// hand out the same number.
import { Schema, Types } from 'mongoose';
import { defineModel } from './define.ts';

const counterSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, default: 0 } });
export const Counter = defineModel('Counter', counterSchema, 'counters');

/** Reserves `count` consecutive numbers and returns the first. */
export async function nextSequence(key: string, count = 1): Promise<number> {
  const doc = await Counter.findOneAndUpdate({ _id: key }, { $inc: { seq: count } }, { upsert: true, returnDocument: 'after' }).lean<{ seq: number }>();
  return doc!.seq - count + 1;
}

export async function nextDisplayIds(workspaceId: Types.ObjectId | string, count = 1): Promise<number> {
  return nextSequence(`customer_display_id:${String(workspaceId)}`, count);
}
