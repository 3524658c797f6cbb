// Event plumbing. InboundEvent is the durable record of every accepted provider webhook
// event (core/inbound/pipeline.ts): unique per provider, account, connection and event id,
// so "seen before?" is atomic across instances and one portal's ids never shadow another's. DomainEvent is Pivotal's own feed of
// customer transitions that alerts and outbound webhooks consume; its dedupe_key makes
// "exactly once per transition" a database guarantee rather than a process-memory one.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

const inboundEventSchema = new Schema(
  {
    provider: { type: String, required: true },
    event_id: { type: String, required: true },
    /** the provider account that sent it (HubSpot portal id, Stripe account id) */
    account_id: { type: String, default: null },
    connection_id: { type: Schema.Types.ObjectId, default: null },
    workspace_id: { type: Schema.Types.ObjectId, default: null },
    type: { type: String, default: null },
    occurred_at: { type: Date, default: null },
    payload: { type: Schema.Types.Mixed, default: null },
    /** received → processed; failed while retried; dead once retries gave up (a visible dead letter); ignored when no connection wants it */
    status: { type: String, enum: ['received', 'processed', 'failed', 'dead', 'ignored'], default: 'received' },
    error: { type: String, default: null },
    /** processing attempts so far (Stripe events are retried by Pivotal, not redelivered) */
    attempts: { type: Number, default: 0 },
    processed_at: { type: Date, default: null },
  },
  { timestamps: true },
);
inboundEventSchema.index({ provider: 1, account_id: 1, connection_id: 1, event_id: 1 }, { unique: true });
inboundEventSchema.index({ status: 1, createdAt: 1 });
inboundEventSchema.index({ connection_id: 1, status: 1 });
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
