// Activity: the append-only history of a customer. Every writer (status changes, syncs,
// health events, alerts) records through recordActivity; readers stream it oldest-first
// in the one public shape the portal's history.csv and `pivotal customers history` share.
import type { Types } from 'mongoose';
import { Activity, ACTOR_TYPES } from '../models/activity.ts';

export type ActivityActorType = (typeof ACTOR_TYPES)[number];
/** who "did" automatic changes (health recompute) */
export const SYSTEM_ACTOR = 'pivotal';

export interface ActivityInput {
  workspaceId: Types.ObjectId;
  customerId: Types.ObjectId;
  actor: string;
  actorType: ActivityActorType;
  eventType: string;
  field?: string | null;
  oldValue?: unknown;
  newValue?: unknown;
  at?: Date;
}

/** Appends rows (never updates one). */
export async function recordActivity(rows: ActivityInput[]): Promise<void> {
  if (!rows.length) return;
  const now = new Date();
  await Activity.insertMany(
    rows.map((r) => ({
      workspace_id: r.workspaceId,
      customer_id: r.customerId,
      actor: r.actor,
      actor_type: r.actorType,
      event_type: r.eventType,
      field: r.field ?? null,
      old_value: r.oldValue ?? null,
      new_value: r.newValue ?? null,
      at: r.at ?? now,
    })),
    { ordered: true },
  );
}

/** The label a sync change is attributed to: the source connection, not just its provider. */
export function connectionActor(conn: { provider: string; _id: unknown }): string {
  return `${conn.provider}:${String(conn._id)}`;
}

/** Columns of history.csv and `customers history --format csv`, exactly. */
export const HISTORY_CSV_COLUMNS = ['timestamp', 'actor', 'actor_type', 'event_type', 'field', 'old_value', 'new_value'] as const;
export type HistoryRow = Record<(typeof HISTORY_CSV_COLUMNS)[number], string | null>;

const text = (v: unknown): string | null => (v == null ? null : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function historyRow(a: { at: Date; actor: string; actor_type: string; event_type: string; field?: string | null; old_value?: unknown; new_value?: unknown }): HistoryRow {
  return {
    timestamp: new Date(a.at).toISOString(),
    actor: a.actor,
    actor_type: a.actor_type,
    event_type: a.event_type,
    field: a.field ?? null,
    old_value: text(a.old_value),
    new_value: text(a.new_value),
  };
}

/** One customer's history, oldest first, as a cursor (never built in memory). */
export async function* customerHistory(workspaceId: Types.ObjectId, customerId: Types.ObjectId): AsyncGenerator<HistoryRow> {
  const cursor = Activity.find({ workspace_id: workspaceId, customer_id: customerId }).sort({ at: 1, _id: 1 }).lean().cursor({ batchSize: 500 });
  for await (const a of cursor) yield historyRow(a as any);
}

/** The newest rows for a page, newest first. */
export async function recentHistory(workspaceId: Types.ObjectId, customerId: Types.ObjectId, limit = 50): Promise<HistoryRow[]> {
  const rows = await Activity.find({ workspace_id: workspaceId, customer_id: customerId }).sort({ at: -1, _id: -1 }).limit(limit).lean();
  return rows.map((a) => historyRow(a as any));
}
