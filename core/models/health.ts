// What the health score needs beyond the customer document: one MRR reading per customer
// when it changes (the 90-day MRR trend; expired by a TTL index after 200 days), and per workspace
// the median MRR the contract-size signal compares against, the changed-customer cursor
// of the "a signal changed" sweep, and when the nightly recompute last ran.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

export const MRR_HISTORY_DAYS = 200;

const mrrSnapshotSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    customer_id: { type: Schema.Types.ObjectId, required: true },
    /** the UTC day of the reading, YYYY-MM-DD */
    day: { type: String, required: true },
    mrr: { type: Number, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
mrrSnapshotSchema.index({ customer_id: 1, day: 1 }, { unique: true });
mrrSnapshotSchema.index({ at: 1 }, { expireAfterSeconds: MRR_HISTORY_DAYS * 86_400 });
export const MrrSnapshot = defineModel('MrrSnapshot', mrrSnapshotSchema, 'mrr_history');

const healthStateSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    median_mrr: { type: Number, default: null },
    median_at: { type: Date, default: null },
    /** customers updated after this were not yet rescored by the change sweep */
    changes_seen_until: { type: Date, default: null },
    /** the local calendar day (YYYY-MM-DD, workspace timezone) of the last nightly run */
    nightly_day: { type: String, default: null },
    last_full_at: { type: Date, default: null },
  },
  { versionKey: false },
);
healthStateSchema.index({ workspace_id: 1 }, { unique: true });
export const HealthState = defineModel('HealthState', healthStateSchema, 'health_state');
