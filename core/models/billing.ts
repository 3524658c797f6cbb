// CustomerBilling: the billing fields Stripe gives a customer, one document per write
// ("version"), newest written_at wins. Kept apart from the customer document because
// FerretDB v1 updates a document with one full collection scan per document (see the
// README): an initial billing sync of 16,000 customers took ~27 minutes as per-customer
// updates and takes seconds as inserts. Readers take the newest version per customer
// (core/billing/store.ts); superseded versions are pruned after each write and hourly.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';
import { PAYMENT_STATUSES } from './customer.ts';

const customerBillingSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    customer_id: { type: Schema.Types.ObjectId, required: true },
    /** when this version was written; the newest per customer is current */
    written_at: { type: Date, required: true },
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
  { minimize: false, versionKey: false },
);

customerBillingSchema.index({ customer_id: 1, written_at: -1 });
customerBillingSchema.index({ workspace_id: 1, written_at: 1 }); // search index refresh
customerBillingSchema.index({ stripe_connection_id: 1 });
customerBillingSchema.index({ workspace_id: 1, stripe_customer_ids: 1 });

export const CustomerBilling = defineModel('CustomerBilling', customerBillingSchema, 'customer_billing');
