// Field mapping: a source record's raw fields → Pivotal customer/contact fields, per the
// connection's mapping (or the connector's default). Pure functions apart from owner
// resolution, which the caller supplies (memoised per run).
import { normalizeDomain } from '../domain.ts';
import { sha256 } from '../crypto.ts';
import { CUSTOMER_STATUSES } from '../models/customer.ts';
import type { FieldMappingEntry, SourceRecord } from '../connectors/connector.ts';

export interface MappedCustomer {
  name: string | null;
  domain: string | null;
  owner_source_id: string | null;
  plan: string | null;
  status: (typeof CUSTOMER_STATUSES)[number] | null;
  arr: number | null;
  industry: string | null;
  employee_count: number | null;
  source_created_at: Date | null;
  last_activity_at: Date | null;
  custom_fields: Record<string, unknown>;
  tags: string[];
}

export interface MappedContact {
  name: string;
  email: string | null;
  title: string | null;
  phone: string | null;
}

const str = (v: unknown): string | null => {
  if (v == null) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
};
const num = (v: unknown): number | null => {
  const s = str(v);
  if (s === null) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};
const date = (v: unknown): Date | null => {
  const s = str(v);
  if (s === null) return null;
  const d = new Date(/^\d+$/.test(s) ? Number(s) : s);
  return Number.isNaN(d.getTime()) ? null : d;
};

function typed(v: unknown, type: FieldMappingEntry['type'], options?: string[]): unknown {
  if (type === 'number') return num(v);
  if (type === 'date') return date(v);
  if (type === 'select') {
    const s = str(v);
    if (s === null) return null;
    return options?.find((o) => o.toLowerCase() === s.toLowerCase()) ?? s;
  }
  return str(v);
}

/** Plans match the workspace's plan list case-insensitively (so "GROWTH" is "Growth"). */
export function matchPlan(value: string | null, plans: string[]): string | null {
  if (!value) return null;
  const key = value.toLowerCase().replace(/[\s_-]+/g, ' ');
  return plans.find((p) => p.toLowerCase().replace(/[\s_-]+/g, ' ') === key) ?? value;
}

export function normalizeStatus(v: unknown): MappedCustomer['status'] {
  const s = str(v)?.toLowerCase().replace(/[\s-]+/g, '_');
  return s && (CUSTOMER_STATUSES as readonly string[]).includes(s) ? (s as MappedCustomer['status']) : null;
}

export function mapCustomer(rec: SourceRecord, mapping: FieldMappingEntry[], plans: string[]): MappedCustomer {
  const out: MappedCustomer = {
    name: null, domain: null, owner_source_id: null, plan: null, status: null, arr: null, industry: null,
    employee_count: null, source_created_at: null, last_activity_at: null, custom_fields: {}, tags: [],
  };
  const f = rec.fields;
  for (const m of mapping) {
    const v = f[m.source];
    if (m.target === 'name') out.name = str(v);
    else if (m.target === 'domain') out.domain = normalizeDomain(str(v)) ?? (m.source === 'domain' ? normalizeDomain(str(f.website)) : null);
    else if (m.target === 'owner') out.owner_source_id = str(v);
    else if (m.target === 'plan') out.plan = matchPlan(str(v), plans);
    else if (m.target === 'status') out.status = normalizeStatus(v);
    else if (m.target === 'arr') out.arr = num(v);
    else if (m.target === 'industry') out.industry = str(v);
    else if (m.target === 'employee_count') out.employee_count = num(v);
    else if (m.target === 'created_at') out.source_created_at = date(v);
    else if (m.target === 'last_activity_at') out.last_activity_at = date(v);
    else if (m.target.startsWith('custom:')) out.custom_fields[m.target.slice(7)] = typed(v, m.type, m.options);
    else if (m.target.startsWith('tag:')) {
      const s = str(v);
      if (s && !['false', '0', 'no'].includes(s.toLowerCase())) out.tags.push(m.target.slice(4));
    }
  }
  return out;
}

export function mapContact(rec: SourceRecord): MappedContact {
  const f = rec.fields;
  const name = [str(f.firstname), str(f.lastname)].filter(Boolean).join(' ') || str(f.name) || '';
  return { name, email: str(f.email)?.toLowerCase() ?? null, title: str(f.jobtitle ?? f.title), phone: str(f.phone) };
}

/** Content hash of what a record maps to: equal hash, nothing to write. */
export function contentHash(value: unknown): string {
  return sha256(JSON.stringify(value));
}

/** Whether a connection matches new source records to existing customers by domain (the default) rather than by external id. */
export function matchesByDomain(settings: { match_key?: unknown } | null | undefined): boolean {
  return (settings?.match_key ?? 'domain') === 'domain';
}

/**
 * What is wrong with a record's match key, in the same words wherever it is shown:
 * validate's problem records and a full sync's SyncErrors (CLI, portal, CSV).
 */
export const MATCH_PROBLEMS = {
  noDomain: 'Missing match key (no domain): the record is skipped',
  duplicate: (otherRecordId: string) => `Duplicate match key: same domain as record ${otherRecordId}; the record is skipped`,
  severalCustomers: (count: number) => `Domain matches ${count} existing customers: pick one in Ambiguous matches (Pivotal does not guess)`,
};
