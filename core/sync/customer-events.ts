// The customer.created / customer.updated domain events a written customer page implies,
// read off its plan's `changes`. A connection's first full sync emits none of them: it
// imports the whole book (150,000 customers must not become 150,000 webhooks); later
// syncs report each customer they create, recreate, link or whose synced fields change.
// Status and archive transitions have their own events (`statusEvents`), so a status-only
// change emits no customer.updated.
import type { DomainEventInput } from '../events/emit.ts';
import type { ApplyEnv, PageOutcome } from './apply.ts';
import type { CustomerChange, CustomerPagePlan } from './customer-page.ts';

function eventFor(env: ApplyEnv, plan: CustomerPagePlan, c: CustomerChange): DomainEventInput | null {
  const conn = env.connection;
  const base = { workspaceId: conn.workspace_id, customerId: c.customerId, actor: `sync:${conn.provider}` };
  const at = `${env.run ? String(env.run._id) : 'record'}:${plan.now.getTime()}`;
  const source = { connection_id: String(conn._id), provider: conn.provider, external_id: c.externalId };
  switch (c.kind) {
    case 'created':
    case 'recreated':
      return { ...base, type: 'customer.created', dedupeKey: `customer:${String(c.customerId)}:created`, data: { source } };
    case 'matched':
      return { ...base, type: 'customer.updated', dedupeKey: `sync:${String(c.customerId)}:linked:${c.externalId}:${at}`, data: { changed_fields: c.fields, linked: true, source } };
    case 'updated':
      if (c.fields.length === 0) return null;
      return { ...base, type: 'customer.updated', dedupeKey: `sync:${String(c.customerId)}:updated:${at}`, data: { changed_fields: c.fields, source }, previous: c.previous };
    default:
      return null;
  }
}

/** The events of one written page, in record order; none on the connection's first full sync. */
export function customerEvents(env: ApplyEnv, plan: CustomerPagePlan): DomainEventInput[] {
  if (!env.connection.first_full_sync_at) return [];
  return plan.changes.map((c) => eventFor(env, plan, c)).filter((e): e is DomainEventInput => e !== null);
}

const STATUS_EVENT = { at_risk: 'customer.at_risk', churned: 'customer.churned', archived: 'customer.archived' } as const;

/** One event per status transition a synced page or writeback made (at risk, churned, archived, or any other change). */
export function statusEvents(env: ApplyEnv, changes: PageOutcome['statusChanges']): DomainEventInput[] {
  const at = env.run ? String(env.run._id) : String(Date.now());
  return changes.map((c) => ({
    workspaceId: env.connection.workspace_id,
    customerId: c.customerId,
    type: STATUS_EVENT[c.to as keyof typeof STATUS_EVENT] ?? 'customer.status_changed',
    dedupeKey: `sync:${String(c.customerId)}:status:${c.from}->${c.to}:${at}`,
    data: { status: c.to },
    previous: { status: c.from },
    actor: `sync:${env.connection.provider}`,
  }));
}
