// Customer: the record a CSM looks up. Synced fields come from the customer source,
// health from the nightly score, billing fields from Stripe in `billing` (written by
// core/billing/store.ts). display_id is numeric, stable and unique per workspace
// (allocated atomically through Counter).
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

export const MAX_NAME_LENGTH = 500;
export const CUSTOMER_STATUSES = ['active', 'at_risk', 'churned', 'archived'] as const;
export type CustomerStatus = (typeof CUSTOMER_STATUSES)[number];
export const PAYMENT_STATUSES = ['paid', 'past_due', 'failing', 'none'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

const healthSchema = new Schema(
  {
    score: { type: Number, default: null },
    bucket: { type: String, enum: ['healthy', 'watch', 'at_risk', null], default: null },
    breakdown: { type: Schema.Types.Mixed, default: () => [] },
    computed_at: { type: Date, default: null },
  },
  { _id: false },
);

const billingSchema = new Schema(
  {
    mrr: { type: Number, default: null }, // USD cents per month
    plan: { type: String, default: null },
    payment_status: { type: String, enum: PAYMENT_STATUSES, default: 'none' },
    billing_started_at: { type: Date, default: null },
    stripe_customer_id: { type: String, default: null },
    stripe_customer_ids: { type: [String], default: () => [] },
    stripe_livemode: { type: Boolean, default: null },
    stripe_connection_id: { type: Schema.Types.ObjectId, default: null },
    /** the invoice behind payment_status (dedupes the payment-failing signal) */
    payment_invoice_id: { type: String, default: null },
    synced_at: { type: Date, default: null },
  },
  { _id: false },
);

const sourceRefSchema = new Schema(
  {
    connection_id: { type: Schema.Types.ObjectId, required: true },
    provider: { type: String, required: true },
    object_type: { type: String, required: true },
    external_id: { type: String, required: true },
    url: { type: String, default: null },
  },
  { _id: false },
);

const customerSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true, index: true },
    display_id: { type: Number, required: true },
    // Capped: a 65,000-character name from a source must not cost every search and card.
    name: { type: String, required: true, trim: true, set: (v: unknown) => (typeof v === 'string' ? v.slice(0, MAX_NAME_LENGTH) : v) },
    /** lowercased name for exact and prefix lookups */
    name_lower: { type: String, required: true },
    /** lowercased trigrams of name and domain for typo-tolerant lookups */
    search_grams: { type: [String], default: () => [] },
    domain: { type: String, default: null },
    owner_member_id: { type: Schema.Types.ObjectId, default: null },
    owner_email: { type: String, default: null },
    plan: { type: String, default: null },
    status: { type: String, enum: CUSTOMER_STATUSES, default: 'active' },
    status_changed_at: { type: Date, default: null },
    status_reason: { type: String, default: null },
    win_back_at: { type: Date, default: null },
    health: { type: healthSchema, default: () => ({}) },
    billing: { type: billingSchema, default: () => ({}) },
    arr: { type: Number, default: null },
    industry: { type: String, default: null },
    employee_count: { type: Number, default: null },
    source_created_at: { type: Date, default: null },
    last_activity_at: { type: Date, default: null },
    custom_fields: { type: Schema.Types.Mixed, default: () => ({}) },
    tags: { type: [String], default: () => [] },
    slack_channel_id: { type: String, default: null },
    sources: { type: [sourceRefSchema], default: () => [] },
    last_synced_at: { type: Date, default: null },
    archived_at: { type: Date, default: null },
    archived_reason: { type: String, default: null },
  },
  { timestamps: true, minimize: false },
);

/** Projection leaving out the search keys (a large array no reader outside search needs). */
export const WITHOUT_SEARCH_KEYS = { search_grams: 0 } as const;

customerSchema.index({ workspace_id: 1, display_id: 1 }, { unique: true });
customerSchema.index({ workspace_id: 1, name_lower: 1 });
customerSchema.index({ workspace_id: 1, domain: 1 });
customerSchema.index({ workspace_id: 1, owner_member_id: 1 });
customerSchema.index({ workspace_id: 1, search_grams: 1 }); // typo-tolerant search (core/customers/search.ts)
customerSchema.index({ workspace_id: 1, owner_email: 1 });
customerSchema.index({ workspace_id: 1, 'billing.payment_status': 1, 'billing.mrr': -1 }); // Slack failing list
// The portal list's sorts, walked per status in windows between fences (core/customers/walk.ts); display_id
// orders ties. The health one also serves the Slack at-risk list.
customerSchema.index({ workspace_id: 1, status: 1, name_lower: 1, display_id: 1 });
customerSchema.index({ workspace_id: 1, status: 1, 'billing.mrr': 1, display_id: 1 });
customerSchema.index({ workspace_id: 1, status: 1, 'health.score': 1, display_id: 1 });
customerSchema.index({ workspace_id: 1, status: 1, updatedAt: 1, display_id: 1 });
customerSchema.index({ workspace_id: 1, status: 1, display_id: 1 });
customerSchema.index({ workspace_id: 1, 'health.bucket': 1, name_lower: 1 }); // portal list, health filter
customerSchema.index({ workspace_id: 1, updatedAt: 1 }); // health rescoring of changed customers
customerSchema.index({ 'billing.stripe_connection_id': 1 });
customerSchema.index({ workspace_id: 1, 'billing.stripe_customer_ids': 1 });

export const Customer = defineModel('Customer', customerSchema, 'customers');
