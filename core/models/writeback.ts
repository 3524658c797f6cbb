// PendingWriteback: a Pivotal-owned change (status, owner, plan, name) waiting to be written
// to the customer's source record. One document per connection and customer, so repeated
// changes coalesce to the latest values; the connection's drain job claims them in the
// connector's batch size and deletes each once the source has it.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

const changesSchema = new Schema(
  {
    status: { type: String },
    ownerEmail: { type: String },
    plan: { type: String },
    name: { type: String },
  },
  { _id: false },
);

const pendingWritebackSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    connection_id: { type: Schema.Types.ObjectId, required: true },
    customer_id: { type: Schema.Types.ObjectId, required: true },
    object_type: { type: String, required: true },
    external_id: { type: String, required: true },
    changes: { type: changesSchema },
    /** bumped by every new request: a drain deletes the document only if nothing came in meanwhile */
    rev: { type: Number, default: 0 },
    /** claimable from then on: a claim pushes it into the future (a lease), so a dead worker's claim lapses */
    available_at: { type: Date, required: true },
    claim: { type: Schema.Types.ObjectId, default: null },
    actor: { type: Schema.Types.Mixed, default: null },
    requested_at: { type: Date, required: true },
  },
  { timestamps: true },
);
pendingWritebackSchema.index({ connection_id: 1, customer_id: 1 }, { unique: true });
pendingWritebackSchema.index({ connection_id: 1, available_at: 1 });
export const PendingWriteback = defineModel('PendingWriteback', pendingWritebackSchema, 'pending_writebacks');
