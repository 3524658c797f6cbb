// Workspace: a customer-success team. Its timezone drives the nightly jobs; settings
// hold health weights and thresholds, alert routing, plans and the personal-domain list.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

export const MEMBER_ROLES = ['owner', 'admin', 'member'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

const memberSchema = new Schema(
  {
    email: { type: String, required: true, lowercase: true, trim: true },
    name: { type: String, default: '' },
    role: { type: String, enum: MEMBER_ROLES, required: true, default: 'member' },
    slack_user_id: { type: String, default: null },
    added_at: { type: Date, default: () => new Date() },
  },
  { _id: true },
);

export const DEFAULT_PERSONAL_DOMAINS = [
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'icloud.com', 'me.com', 'mac.com',
  'yahoo.com', 'ymail.com', 'proton.me', 'protonmail.com', 'pm.me', 'aol.com', 'gmx.com', 'gmx.de', 'mail.com',
  'zoho.com', 'yandex.com', 'yandex.ru', 'fastmail.com', 'hey.com', 'qq.com', '163.com', 'web.de',
];

export const DEFAULT_HEALTH_WEIGHTS = { payment: 35, mrr_trend: 20, tenure: 15, contract_size: 15, engagement: 15 };

const settingsSchema = new Schema(
  {
    health_weights: { type: Schema.Types.Mixed, default: () => ({ ...DEFAULT_HEALTH_WEIGHTS }) },
    health_thresholds: { type: Schema.Types.Mixed, default: () => ({ healthy: 70, watch: 40 }) },
    alerts: {
      default_channel_id: { type: String, default: null },
      payment_failing: { type: Boolean, default: true },
      at_risk: { type: Boolean, default: true },
      churned: { type: Boolean, default: true },
      health_drop: { type: Boolean, default: true },
      bucket_change: { type: Boolean, default: true },
    },
    personal_domains: { type: [String], default: () => [...DEFAULT_PERSONAL_DOMAINS] },
    plans: { type: [String], default: () => [] },
    fx_rates_usd: { type: Schema.Types.Mixed, default: null },
  },
  { _id: false },
);

const workspaceSchema = new Schema(
  {
    name: { type: String, required: true, trim: true },
    slug: { type: String, required: true, unique: true },
    timezone: { type: String, required: true, default: 'UTC' },
    settings: { type: settingsSchema, default: () => ({}) },
    members: { type: [memberSchema], default: () => [] },
    /** the one customer source (atomic claim: one per workspace) */
    customer_source_connection_id: { type: Schema.Types.ObjectId, default: null },
    slack_team_id: { type: String, default: null },
  },
  { timestamps: true },
);

export const Workspace = defineModel('Workspace', workspaceSchema, 'workspaces');
