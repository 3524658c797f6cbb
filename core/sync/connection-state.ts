// Connection sync state changes only through these named transitions (state, reason,
// sync stamps, cursors, quota pauses), so every writer of a connection's sync state is
// listed here and nowhere else writes those fields.
import type { Types } from 'mongoose';
import { Connection } from '../models/connection.ts';

type Id = Types.ObjectId | string;

/** The provider refused the credentials (or the owner revoked Pivotal): syncing stops until an admin reconnects. */
export async function needsReauthorization(connectionId: Id, reason: string): Promise<void> {
  await Connection.updateOne({ _id: connectionId }, { $set: { state: 'reauthorize', state_reason: reason } });
}

/** Fresh credentials (already encrypted): the connection is usable again and runs resume from their checkpoints. */
export async function reauthorized(connectionId: Id, encryptedCredentials: unknown): Promise<void> {
  await Connection.updateOne({ _id: connectionId }, { $set: { credentials: encryptedCredentials, state: 'connected', state_reason: null } });
}

/** An admin disconnected it: credentials and webhook secret are erased, mapping and settings kept. */
export async function disconnected(connectionId: Id, reason = 'Disconnected by an admin'): Promise<void> {
  await Connection.updateOne({ _id: connectionId }, { $set: { state: 'disconnected', state_reason: reason, credentials: null, webhook_secret: null } });
}

/** The provider's API quota is used up: scheduled syncs wait until resumeAt. */
export async function quotaExhausted(connectionId: Id, resumeAt: Date | null): Promise<void> {
  await Connection.updateOne({ _id: connectionId }, { $set: { paused_until: resumeAt } });
}

/** A complete walk (full or reconcile) finished: stamps it, the first one too, and moves the incremental cursors. */
export async function fullWalkCompleted(conn: { _id: Id; first_full_sync_at?: Date | null }, at: Date, cursors: Record<string, string> = {}): Promise<void> {
  const set: Record<string, unknown> = { last_full_sync_at: at };
  if (!conn.first_full_sync_at) set.first_full_sync_at = at;
  for (const [kind, cursor] of Object.entries(cursors)) set[`cursors.${kind}`] = cursor;
  await Connection.updateOne({ _id: conn._id }, { $set: set });
}

/** An incremental run (or a single-record update) brought the connection up to date. */
export async function incrementalCompleted(connectionId: Id, at: Date, cursors: Record<string, string> = {}): Promise<void> {
  const set: Record<string, unknown> = { last_incremental_at: at };
  for (const [kind, cursor] of Object.entries(cursors)) set[`cursors.${kind}`] = cursor;
  await Connection.updateOne({ _id: connectionId }, { $set: set });
}
