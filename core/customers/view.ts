// The public shape of a customer (CLI --json, exports, the portal, outbound webhooks):
// stable snake_case keys, money in USD cents, dates as ISO strings.
import type { Types } from 'mongoose';

export function stripeDashboardUrl(stripeCustomerId: string | null | undefined, livemode: boolean | null | undefined): string | null {
  if (!stripeCustomerId) return null;
  return `https://dashboard.stripe.com/${livemode === false ? 'test/' : ''}customers/${stripeCustomerId}`;
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d == null ? null : String(d));

export interface CustomerView {
  id: string;
  workspace_id: string;
  display_id: number;
  name: string;
  domain: string | null;
  status: string;
  plan: string | null;
  owner_email: string | null;
  mrr: number | null;
  payment_status: string;
  billing_started_at: string | null;
  stripe_customer_id: string | null;
  stripe_dashboard_url: string | null;
  health_score: number | null;
  health_bucket: string | null;
  arr: number | null;
  industry: string | null;
  employee_count: number | null;
  tags: string[];
  custom_fields: Record<string, unknown>;
  slack_channel_id: string | null;
  sources: { provider: string; object_type: string; external_id: string; url: string | null }[];
  last_synced_at: string | null;
  archived_at: string | null;
  created_at: string | null;
  updated_at: string | null;
}

export function customerView(c: any): CustomerView {
  const billing = c.billing ?? {};
  return {
    id: String(c._id as Types.ObjectId),
    workspace_id: String(c.workspace_id),
    display_id: c.display_id,
    name: c.name,
    domain: c.domain ?? null,
    status: c.status,
    plan: billing.plan ?? c.plan ?? null,
    owner_email: c.owner_email ?? null,
    mrr: billing.mrr ?? null,
    payment_status: billing.payment_status ?? 'none',
    billing_started_at: iso(billing.billing_started_at),
    stripe_customer_id: billing.stripe_customer_id ?? null,
    stripe_dashboard_url: stripeDashboardUrl(billing.stripe_customer_id, billing.stripe_livemode),
    health_score: c.health?.score ?? null,
    health_bucket: c.health?.bucket ?? null,
    arr: c.arr ?? null,
    industry: c.industry ?? null,
    employee_count: c.employee_count ?? null,
    tags: c.tags ?? [],
    custom_fields: c.custom_fields ?? {},
    slack_channel_id: c.slack_channel_id ?? null,
    sources: (c.sources ?? []).map((s: any) => ({ provider: s.provider, object_type: s.object_type, external_id: s.external_id, url: s.url ?? null })),
    last_synced_at: iso(c.last_synced_at),
    archived_at: iso(c.archived_at),
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

/** Flat columns for CSV export (nested values JSON-encoded). */
export const CUSTOMER_CSV_COLUMNS = [
  'display_id', 'name', 'domain', 'status', 'plan', 'owner_email', 'mrr', 'payment_status', 'billing_started_at',
  'stripe_customer_id', 'health_score', 'health_bucket', 'arr', 'industry', 'employee_count', 'tags', 'last_synced_at', 'id',
] as const;
