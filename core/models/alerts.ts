// Slack alert deliveries. The delivery row is inserted once per (domain event) under a
// unique key: that insert is the claim that makes "one alert per transition" hold with
// duplicate events and several workers.
// Each retry attempt is claimed the same way through AlertAttemptClaim.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

export const ALERT_DELIVERY_STATUSES = ['sending', 'sent', 'retrying', 'failed', 'skipped'] as const;

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
    last_error: { type: String, default: null },
    message_ts: { type: String, default: null },
    sent_at: { type: Date, default: null },
  },
  { timestamps: true },
);
alertDeliverySchema.index({ key: 1 }, { unique: true });
alertDeliverySchema.index({ workspace_id: 1, createdAt: -1 });
export const AlertDelivery = defineModel('AlertDelivery', alertDeliverySchema, 'alert_deliveries');

const alertAttemptClaimSchema = new Schema({ key: { type: String, required: true }, at: { type: Date, default: () => new Date() } });
alertAttemptClaimSchema.index({ key: 1 }, { unique: true });
export const AlertAttemptClaim = defineModel('AlertAttemptClaim', alertAttemptClaimSchema, 'alert_attempt_claims');
