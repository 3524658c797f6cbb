// Bulk updates in small commands. FerretDB v1 (SQLite backend) keeps every update
// statement's read cursor open until the whole `update` command returns, and its SQLite
// pool has 100 connections: one command with ~100 statements (or several concurrent
// commands adding up to that) waits for a connection forever. MongoDB does not care,
// so the chunk only costs a few round trips there.
import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';

/** Statements per update command: far below FerretDB's 100 connections even with every worker writing at once. */
export const UPDATE_STATEMENTS_PER_COMMAND = 10;

interface BulkWritable<T extends Document> {
  bulkWrite(ops: AnyBulkWriteOperation<T>[], options: { ordered: false }): Promise<unknown>;
}

/**
 * Runs `ops` (unordered) in commands of at most UPDATE_STATEMENTS_PER_COMMAND, one after
 * the other. Accepts a driver collection or a mongoose model.
 */
export async function bulkWriteInChunks<T extends Document>(target: BulkWritable<T> | Collection<T>, ops: AnyBulkWriteOperation<T>[]): Promise<void> {
  for (let i = 0; i < ops.length; i += UPDATE_STATEMENTS_PER_COMMAND) {
    await (target as BulkWritable<T>).bulkWrite(ops.slice(i, i + UPDATE_STATEMENTS_PER_COMMAND), { ordered: false });
  }
}
