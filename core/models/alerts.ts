// Slack alert deliveries. The delivery row is inserted once per (domain event) under a
// unique key, so duplicate events and several workers make one delivery. Each attempt
// claims the row with a conditional update (status → sending, claimed_at); a `sending`
// claim older than a deadline belongs to a dead attempt and may be claimed again.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

export const ALERT_DELIVERY_STATUSES = ['queued', 'sending', 'sent', 'retrying', 'failed', 'skipped'] as const;

const alertDeliverySchema = new Schema(
  {
    key: { type: String, required: true },
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    customer_id: { type: Schema.Types.ObjectId, default: null },
    event_id: { type: Schema.Types.ObjectId, required: true },
    kind: { type: String, required: true },
    status: { type: String, enum: ALERT_DELIVERY_STATUSES, default: 'sending' },
    channel_id: { type: String, default: null },
    routed_to: { type: String, enum: ['customer_channel', 'default_channel', null], default: null },
    attempts: { type: Number, default: 0 },
    /** when the current attempt claimed the delivery (a stale `sending` claim is retried) */
    claimed_at: { type: Date, default: null },
    last_error: { type: String, default: null },
    message_ts: { type: String, default: null },
    sent_at: { type: Date, default: null },
  },
  { timestamps: true },
);
alertDeliverySchema.index({ key: 1 }, { unique: true });
alertDeliverySchema.index({ workspace_id: 1, createdAt: -1 });
alertDeliverySchema.index({ status: 1, claimed_at: 1 });
export const AlertDelivery = defineModel('AlertDelivery', alertDeliverySchema, 'alert_deliveries');
