// Status changes (active / at risk / churned) made by a person in Slack or the portal, or
// driven by the customer source during sync. One place so every path records history,
// stamps the timestamps, emits the domain events alerts and webhooks consume, and asks the
// sync engine to write a human change back to the source.
//
// Exactly-once per transition: the dedupe key of the emitted events includes the previous
// status_changed_at, so two concurrent identical changes produce one event (the unique
// dedupe_key decides), while a later, genuinely new transition gets a new key.
import { Types } from 'mongoose';
import { z } from 'zod';
import { Customer } from '../models/customer.ts';
import { Activity } from '../models/activity.ts';
import { AppError } from '../errors.ts';
import { enqueue } from '../jobs/agenda.ts';
import { emitDomainEvent, type Actor } from '../events/emit.ts';
import { withBilling } from '../billing/store.ts';

export const SETTABLE_STATUSES = ['active', 'at_risk', 'churned'] as const;
export type SettableStatus = (typeof SETTABLE_STATUSES)[number];

export const statusChangeInput = z.object({
  customerId: z.union([z.string(), z.instanceof(Types.ObjectId)]),
  workspaceId: z.union([z.string(), z.instanceof(Types.ObjectId)]),
  status: z.enum(SETTABLE_STATUSES, { message: 'status must be active, at_risk or churned' }),
  reason: z.string().trim().max(2000, 'reason must be at most 2000 characters').optional().nullable(),
  actor: z.object({ type: z.enum(['slack_user', 'user', 'sync', 'system', 'api']), id: z.string().min(1), name: z.string().nullish() }),
});
export type StatusChangeInput = z.input<typeof statusChangeInput>;

export interface StatusChangeResult {
  changed: boolean;
  previous: string;
  status: SettableStatus;
  customer: any;
}

const oid = (v: string | Types.ObjectId, what: string) => {
  if (v instanceof Types.ObjectId) return v;
  if (!Types.ObjectId.isValid(v)) throw new AppError('bad_input', `${what} is not a valid id`);
  return new Types.ObjectId(v);
};

export async function setCustomerStatus(raw: StatusChangeInput): Promise<StatusChangeResult> {
  const parsed = statusChangeInput.safeParse(raw);
  if (!parsed.success) throw new AppError('bad_input', parsed.error.issues[0]!.message);
  const input = parsed.data;
  const customerId = oid(input.customerId, 'customer id');
  const workspaceId = oid(input.workspaceId, 'workspace id');
  const actor: Actor = { type: input.actor.type, id: input.actor.id, name: input.actor.name ?? null };

  // Scoped by workspace: an id from another workspace is simply "not found".
  const current = await Customer.findOne({ _id: customerId, workspace_id: workspaceId }).lean();
  if (!current) throw new AppError('not_found', 'Customer not found');
  if (current.status === 'archived') throw new AppError('conflict', `${current.name} is archived; its status cannot be changed`);
  const previous = current.status;
  if (previous === input.status) return { changed: false, previous, status: input.status, customer: await withBilling(current) };

  const now = new Date();
  const set: Record<string, unknown> = { status: input.status, status_changed_at: now, status_reason: input.reason ?? null };
  if (previous === 'churned' && input.status === 'active') set.win_back_at = now;
  await Customer.updateOne({ _id: customerId, workspace_id: workspaceId }, { $set: set });

  await Activity.create({
    workspace_id: workspaceId,
    customer_id: customerId,
    actor: actor.name ? `${actor.name} (${actor.id})` : actor.id,
    actor_type: actor.type,
    event_type: 'status_changed',
    field: 'status',
    old_value: previous,
    new_value: input.status,
    at: now,
  });

  const since = current.status_changed_at ? new Date(current.status_changed_at).getTime() : 'never';
  const transition = `${String(customerId)}:status:${since}:${previous}->${input.status}`;
  const data = {
    customer_id: String(customerId),
    display_id: current.display_id,
    name: current.name,
    status: input.status,
    reason: input.reason ?? null,
    changed_at: now.toISOString(),
    source: actor.type === 'sync' ? 'source' : 'pivotal',
  };
  const base = { workspaceId, customerId, data, previous: { status: previous }, actor };
  const first = await emitDomainEvent({ ...base, type: 'customer.status_changed', dedupeKey: transition });
  if (input.status === 'at_risk') await emitDomainEvent({ ...base, type: 'customer.at_risk', dedupeKey: `${transition}:at_risk` });
  if (input.status === 'churned') await emitDomainEvent({ ...base, type: 'customer.churned', dedupeKey: `${transition}:churned` });

  // A change that came from the source is already there; only human changes go back.
  // Health is frozen for churned customers by the health job itself (it skips status churned).
  if (first && actor.type !== 'sync') {
    await enqueue('sync.writeback', { customer_id: String(customerId), changes: { status: input.status }, actor });
  }
  const customer = await withBilling(await Customer.findById(customerId).lean());
  return { changed: true, previous, status: input.status, customer };
}
