// Event plumbing. InboundEvent dedupes provider webhooks by event id (the unique index
// makes "seen before?" atomic across instances). DomainEvent is Pivotal's own feed of
// customer transitions that alerts and outbound webhooks consume; its dedupe_key makes
// "exactly once per transition" a database guarantee rather than a process-memory one.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

const inboundEventSchema = new Schema(
  {
    provider: { type: String, required: true },
    event_id: { type: String, required: true },
    connection_id: { type: Schema.Types.ObjectId, default: null },
    workspace_id: { type: Schema.Types.ObjectId, default: null },
    type: { type: String, default: null },
    occurred_at: { type: Date, default: null },
    payload: { type: Schema.Types.Mixed, default: null },
    status: { type: String, enum: ['received', 'processed', 'failed'], default: 'received' },
    error: { type: String, default: null },
    /** processing attempts so far (Stripe events are retried by Pivotal, not redelivered) */
    attempts: { type: Number, default: 0 },
    processed_at: { type: Date, default: null },
  },
  { timestamps: true },
);
inboundEventSchema.index({ provider: 1, event_id: 1 }, { unique: true });
// Retention: processed events go 30 days after processing (unprocessed ones have no date and stay).
inboundEventSchema.index({ processed_at: 1 }, { expireAfterSeconds: 30 * 86_400 });
export const InboundEvent = defineModel('InboundEvent', inboundEventSchema, 'inbound_events');

export const DOMAIN_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.archived',
  'customer.status_changed',
  'customer.at_risk',
  'customer.churned',
  'customer.health_score_dropped',
  'customer.health_bucket_changed',
  'customer.payment_failed',
] as const;
export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];

const domainEventSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    customer_id: { type: Schema.Types.ObjectId, default: null },
    type: { type: String, enum: DOMAIN_EVENT_TYPES, required: true },
    dedupe_key: { type: String, required: true },
    data: { type: Schema.Types.Mixed, default: () => ({}) },
    previous: { type: Schema.Types.Mixed, default: null },
    actor: { type: String, default: null },
    /** set once every consumer has run; the sweeper re-dispatches events left without it */
    dispatched_at: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, minimize: false },
);
domainEventSchema.index({ dedupe_key: 1 }, { unique: true });
domainEventSchema.index({ workspace_id: 1, createdAt: -1 });
export const DomainEvent = defineModel('DomainEvent', domainEventSchema, 'domain_events');
