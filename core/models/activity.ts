// Activity: append-only history per customer (who changed what, from what, to what).
// Exported as CSV with exactly: actor, actor_type, event_type, field, old_value, new_value, at.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

export const ACTOR_TYPES = ['user', 'slack_user', 'sync', 'system', 'api'] as const;

const activitySchema = new Schema({
  workspace_id: { type: Schema.Types.ObjectId, required: true },
  customer_id: { type: Schema.Types.ObjectId, required: true },
  actor: { type: String, required: true },
  actor_type: { type: String, enum: ACTOR_TYPES, required: true },
  event_type: { type: String, required: true },
  field: { type: String, default: null },
  old_value: { type: Schema.Types.Mixed, default: null },
  new_value: { type: Schema.Types.Mixed, default: null },
  at: { type: Date, default: () => new Date() },
});
activitySchema.index({ customer_id: 1, at: -1 });
activitySchema.index({ workspace_id: 1, customer_id: 1, at: 1 });
export const Activity = defineModel('Activity', activitySchema, 'activities');
