// Which database errors are "the database is briefly away" (a restart, a failover, a
// network blip) rather than "this operation is wrong". Work that meets one waits for the
// database and carries on from its last checkpoint instead of failing and losing progress.
import { setTimeout as sleep } from 'node:timers/promises';
import mongoose from 'mongoose';

const TRANSIENT_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoTopologyClosedError',
]);
const TRANSIENT_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'ResetPool'];
/** Server codes of a primary stepping down or a node shutting down (MongoDB's retryable set). */
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

export function isTransientDatabaseError(e: unknown): boolean {
  for (let err = e as any, depth = 0; err && depth < 4; err = err.cause, depth++) {
    if (TRANSIENT_NAMES.has(err.name)) return true;
    if (typeof err.hasErrorLabel === 'function' && TRANSIENT_LABELS.some((l) => err.hasErrorLabel(l))) return true;
    if (typeof err.code === 'number' && TRANSIENT_CODES.has(err.code) && String(err.name).startsWith('Mongo')) return true;
  }
  return false;
}

/** Waits until the database answers a ping again; false if it did not within maxWaitMs (or on abort). */
export async function waitForDatabase(maxWaitMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + maxWaitMs;
  for (let delay = 250; Date.now() < deadline && !signal?.aborted; delay = Math.min(delay * 2, 5_000)) {
    try {
      await mongoose.connection.db?.admin().ping();
      if (mongoose.connection.db) return true;
    } catch {
      // still away
    }
    await sleep(Math.min(delay, Math.max(deadline - Date.now(), 0)), undefined, { signal }).catch(() => {});
  }
  return false;
}
