// Contact: a person at a customer. The first contact of a customer is its primary.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

const contactSchema = new Schema(
  {
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    customer_id: { type: Schema.Types.ObjectId, default: null },
    name: { type: String, default: '' },
    email: { type: String, default: null, lowercase: true, trim: true },
    title: { type: String, default: null },
    phone: { type: String, default: null },
    is_primary: { type: Boolean, default: false },
    archived_at: { type: Date, default: null },
  },
  { timestamps: true },
);
contactSchema.index({ workspace_id: 1, email: 1 });
contactSchema.index({ customer_id: 1 });

export const Contact = defineModel('Contact', contactSchema, 'contacts');
