// Outbound webhooks: the endpoints a workspace registers and the log of every delivery
// (kept 90 days by a TTL index). A delivery's unique key (endpoint + event id, plus the
// replay's own id for replays) makes "one delivery per endpoint and event" a database
// guarantee when an event is dispatched twice.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';
import { DOMAIN_EVENT_TYPES } from './events.ts';

/** Every domain event, plus the ping sent when an endpoint is created. */
export const WEBHOOK_EVENT_TYPES = [...DOMAIN_EVENT_TYPES, 'webhook.ping'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const DELIVERY_LOG_DAYS = 90;

const webhookEndpointSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    url: { type: String, required: true },
    /** subscribed event types; empty = every event */
    events: { type: [String], default: () => [] },
    /** the whsec_… signing secret, encrypted at rest (shown once, at creation) */
    secret: { type: String, required: true },
    livemode: { type: Boolean, default: true },
    /** private, loopback and link-local targets allowed (development receivers) */
    allow_private: { type: Boolean, default: false },
    state: { type: String, enum: ['enabled', 'disabled'], default: 'enabled' },
    consecutive_failures: { type: Number, default: 0 },
    disabled_at: { type: Date, default: null },
    disabled_reason: { type: String, default: null },
    created_by: { type: String, default: null },
  },
  { timestamps: true },
);
webhookEndpointSchema.index({ workspace_id: 1, state: 1 });
export const WebhookEndpoint = defineModel('WebhookEndpoint', webhookEndpointSchema, 'webhook_endpoints');

const attemptSchema = new Schema(
  {
    at: { type: Date, required: true },
    status_code: { type: Number, default: null },
    error: { type: String, default: null },
    /** the start of the receiver's answer, for the delivery log */
    response_body: { type: String, default: null },
    duration_ms: { type: Number, default: null },
  },
  { _id: false },
);

const webhookDeliverySchema = new Schema(
  {
    key: { type: String, required: true },
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    endpoint_id: { type: Schema.Types.ObjectId, required: true },
    /** the envelope id (evt_…), also the webhook-id header: the same on every attempt and replay */
    event_id: { type: String, required: true },
    event_type: { type: String, required: true },
    /** the signed body, exactly as sent */
    payload: { type: String, required: true },
    status: { type: String, enum: ['pending', 'retrying', 'succeeded', 'failed'], default: 'pending' },
    attempt_count: { type: Number, default: 0 },
    attempts: { type: [attemptSchema], default: () => [] },
    next_attempt_at: { type: Date, default: null },
    last_status_code: { type: Number, default: null },
    last_error: { type: String, default: null },
    replay_of: { type: Schema.Types.ObjectId, default: null },
    createdAt: { type: Date, default: () => new Date() },
  },
  { timestamps: { createdAt: false, updatedAt: true } },
);
webhookDeliverySchema.index({ key: 1 }, { unique: true });
webhookDeliverySchema.index({ endpoint_id: 1, createdAt: -1 });
webhookDeliverySchema.index({ createdAt: 1 }, { expireAfterSeconds: DELIVERY_LOG_DAYS * 86_400 });
export const WebhookDelivery = defineModel('WebhookDelivery', webhookDeliverySchema, 'webhook_deliveries');
