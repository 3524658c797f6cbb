// Connection: one provider account linked to a workspace, as its customer source or as
// a billing signal. Credentials are encrypted (core/crypto.ts); the field mapping and
// settings survive a disconnect so reconnecting picks up where the admin left off.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

export const PROVIDERS = ['hubspot', 'salesforce', 'stripe'] as const;
export type Provider = (typeof PROVIDERS)[number];
export const CONNECTION_ROLES = ['customer_source', 'billing_signal'] as const;
export type ConnectionRole = (typeof CONNECTION_ROLES)[number];
export const CONNECTION_STATES = ['connected', 'reauthorize', 'disconnected'] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

const connectionSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true, index: true },
    provider: { type: String, enum: PROVIDERS, required: true },
    role: { type: String, enum: CONNECTION_ROLES, required: true },
    mode: { type: String, enum: ['live', 'test', null], default: null },
    auth_type: { type: String, enum: ['oauth', 'token'], required: true },
    /** encrypted JSON: tokens, instance URL, expiry; null once disconnected (erased) */
    credentials: { type: String, default: null },
    /** encrypted webhook endpoint secret (Stripe) */
    webhook_secret: { type: String, default: null },
    external_account_id: { type: String, default: null },
    state: { type: String, enum: CONNECTION_STATES, default: 'connected' },
    state_reason: { type: String, default: null },
    settings: { type: Schema.Types.Mixed, default: () => ({}) },
    field_mapping: { type: Schema.Types.Mixed, default: null },
    /** cursors for incremental sync (e.g. last modified stamp seen) */
    cursors: { type: Schema.Types.Mixed, default: () => ({}) },
    last_full_sync_at: { type: Date, default: null },
    last_incremental_at: { type: Date, default: null },
    first_full_sync_at: { type: Date, default: null },
    paused_until: { type: Date, default: null },
  },
  { timestamps: true, minimize: false },
);
connectionSchema.index({ workspace_id: 1, provider: 1 });
connectionSchema.index({ external_account_id: 1, provider: 1 });

export const Connection = defineModel('Connection', connectionSchema, 'connections');
