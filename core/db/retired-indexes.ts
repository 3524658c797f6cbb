// Indexes an earlier version declared and this one replaced. Mongoose only ever adds
// indexes, so a database created before the change would keep enforcing the old rule
// (e.g. HubSpot events deduplicated across all portals); they are dropped at start.
import type { Db } from 'mongodb';

const RETIRED: { collection: string; index: string; why: string }[] = [
  { collection: 'inbound_events', index: 'provider_1_event_id_1', why: 'events are unique per provider account and connection, not per provider' },
  { collection: 'customers', index: 'workspace_id_1_status_1', why: 'a prefix of the list indexes below, which serve its queries' },
  { collection: 'customers', index: 'workspace_id_1_status_1_name_lower_1', why: 'the list walks {status, name_lower, display_id}' },
  { collection: 'customers', index: 'workspace_id_1_status_1_billing.mrr_-1', why: 'the list walks {status, billing.mrr, display_id}' },
  { collection: 'customers', index: 'workspace_id_1_status_1_health.score_1', why: 'the list walks {status, health.score, display_id}' },
];

export async function dropRetiredIndexes(db: Db): Promise<void> {
  for (const r of RETIRED) {
    const exists = await db.collection(r.collection).indexExists(r.index).catch(() => false);
    if (exists) await db.collection(r.collection).dropIndex(r.index);
  }
}
