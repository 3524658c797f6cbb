// Counters for numeric ids (customer display_id per workspace). $inc with upsert on a
// single document is atomic on MongoDB and FerretDB alike, so concurrent syncs never
// hand out the same number.
import { Schema, type Types } from 'mongoose';
import { defineModel } from './define.ts';
import { isDuplicateKeyError } from '../errors.ts';

const counterSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, default: 0 } });
export const Counter = defineModel('Counter', counterSchema, 'counters');

const counterBlockSchema = new Schema({ _id: { type: String, required: true }, key: String, start: Number, end: Number });
export const CounterBlock = defineModel('CounterBlock', counterBlockSchema, 'counter_blocks');

/**
 * Reserves `count` consecutive numbers and returns the first.
 *
 * FerretDB v1 runs findOneAndUpdate/$inc non-atomically (concurrent callers can read
 * the same value), so the reservation itself is an insert of a block whose _id is
 * "key:start": the unique _id lets exactly one caller own a start. Every block starts
 * right after another block's end, so blocks chain without overlap; the Counter
 * document is only a hint of the last end, to keep the walk short.
 */
export async function nextSequence(key: string, count = 1): Promise<number> {
  if (!Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
  let hint = (await Counter.findById(key).lean<{ seq: number }>())?.seq ?? 0;
  for (let hops = 0; hops < 100_000; hops++) {
    const start = hint + 1;
    const end = start + count - 1;
    try {
      await CounterBlock.create({ _id: `${key}:${start}`, key, start, end });
    } catch (e) {
      if (!isDuplicateKeyError(e)) throw e;
      const taken = await CounterBlock.findById(`${key}:${start}`).lean<{ end: number }>();
      hint = taken ? taken.end : hint + 1;
      continue;
    }
    await Counter.updateOne({ _id: key, seq: { $lt: end } }, { $set: { seq: end } }, { upsert: true }).catch((e) => {
      if (!isDuplicateKeyError(e)) throw e;
    });
    return start;
  }
  throw new Error(`could not reserve numbers for ${key}`);
}

export async function nextDisplayIds(workspaceId: Types.ObjectId | string, count = 1): Promise<number> {
  return nextSequence(`customer_display_id:${String(workspaceId)}`, count);
}
