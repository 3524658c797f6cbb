// The field mapping editor behind /connections/:id/mapping and `pivotal mapping show|set`:
// the source's real properties (from the connector), the Pivotal fields they can feed,
// validation that refuses a type mismatch with the reason (nothing saved), and a preview of
// a mapping applied to five real records of the source before it is saved.
import { z } from 'zod';
import { getConnector } from '../connectors/registry.ts';
import type { FieldMappingEntry, PropertyInfo } from '../connectors/connector.ts';
import { Workspace } from '../models/workspace.ts';
import { AppError } from '../errors.ts';
import { connectorContext, getConnection, updateConnectionSettings, type ConnectionDoc } from './connections.ts';
import { withProvider } from './engine.ts';
import { mapCustomer } from './mapping.ts';

type FieldType = 'string' | 'number' | 'date' | 'any';

/** Pivotal's own customer fields a source property can feed, with the type each needs. */
export const PIVOTAL_FIELDS: { target: string; label: string; type: FieldType }[] = [
  { target: 'name', label: 'Display name', type: 'any' },
  { target: 'domain', label: 'Domain (match key)', type: 'string' },
  { target: 'owner', label: 'Owner', type: 'any' },
  { target: 'plan', label: 'Plan', type: 'any' },
  { target: 'status', label: 'Status', type: 'any' },
  { target: 'arr', label: 'ARR (USD)', type: 'number' },
  { target: 'industry', label: 'Industry', type: 'any' },
  { target: 'employee_count', label: 'Employees', type: 'number' },
  { target: 'created_at', label: 'Created', type: 'date' },
  { target: 'last_activity_at', label: 'Last activity', type: 'date' },
];

export const CUSTOM_FIELD_TYPES = ['string', 'number', 'date', 'select'] as const;
export const MATCH_KEYS = ['domain', 'external_id'] as const;

const entrySchema = z.object({
  target: z.string().trim().min(1, 'every entry needs a target'),
  source: z.string().trim().min(1, 'every entry needs a source property'),
  type: z.enum(CUSTOM_FIELD_TYPES, { message: `type must be one of ${CUSTOM_FIELD_TYPES.join(', ')}` }).optional(),
  options: z.array(z.string().trim().min(1)).max(200).optional(),
});
export const mappingInput = z.object({
  mapping: z.array(entrySchema).max(200, 'at most 200 mapped properties'),
  match_key: z.enum(MATCH_KEYS, { message: `match_key must be one of ${MATCH_KEYS.join(', ')}` }).optional(),
});
export type MappingInput = z.input<typeof mappingInput>;

const CUSTOM_KEY = /^[a-z][a-z0-9_]{0,39}$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9 _-]{0,39}$/;

/** Whether a source property of this type can feed a field of that type. */
function fits(sourceType: PropertyInfo['type'], needs: FieldType | 'select'): boolean {
  if (needs === 'any' || needs === 'string') return true;
  if (needs === 'number') return sourceType === 'number';
  if (needs === 'date') return sourceType === 'date' || sourceType === 'datetime';
  return sourceType === 'enumeration' || sourceType === 'string' || sourceType === 'bool';
}

/** Checks a mapping against the source's properties; the first problem is refused with its reason. */
export function validateMapping(input: unknown, properties: PropertyInfo[]): { mapping: FieldMappingEntry[]; match_key?: (typeof MATCH_KEYS)[number] } {
  const parsed = mappingInput.safeParse(input);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new AppError('bad_input', `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`);
  }
  const byName = new Map(properties.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const out: FieldMappingEntry[] = [];
  for (const [i, e] of parsed.data.mapping.entries()) {
    const where = `mapping.${i} (${e.target} ← ${e.source})`;
    const prop = byName.get(e.source);
    if (!prop) throw new AppError('bad_input', `${where}: the source has no property "${e.source}"`);
    if (seen.has(e.target) && !e.target.startsWith('tag:')) throw new AppError('bad_input', `${where}: ${e.target} is mapped twice`);
    seen.add(e.target);
    const own = PIVOTAL_FIELDS.find((f) => f.target === e.target);
    if (own) {
      if (!fits(prop.type, own.type)) throw new AppError('bad_input', `${where}: ${own.label} needs a ${own.type} property, and "${prop.label}" is a ${prop.type}`);
      out.push({ target: e.target, source: e.source, ...(own.type === 'number' || own.type === 'date' ? { type: own.type } : {}) });
    } else if (e.target.startsWith('custom:')) {
      const key = e.target.slice(7);
      if (!CUSTOM_KEY.test(key)) throw new AppError('bad_input', `${where}: a custom field key is lowercase letters, digits and _ (up to 40), starting with a letter`);
      const type = e.type ?? 'string';
      if (!fits(prop.type, type)) throw new AppError('bad_input', `${where}: a ${type} field needs a ${type === 'select' ? 'choice' : type} property, and "${prop.label}" is a ${prop.type}`);
      const options = type === 'select' ? (e.options?.length ? e.options : prop.options) : undefined;
      if (type === 'select' && !options?.length) throw new AppError('bad_input', `${where}: a select field needs its options`);
      out.push({ target: e.target, source: e.source, type, ...(options ? { options } : {}) });
    } else if (e.target.startsWith('tag:')) {
      if (!TAG.test(e.target.slice(4))) throw new AppError('bad_input', `${where}: a tag is letters, digits, spaces, _ and - (up to 40)`);
      out.push({ target: e.target, source: e.source });
    } else {
      throw new AppError('bad_input', `${where}: unknown target "${e.target}" (use a Pivotal field, custom:<key> or tag:<tag>)`);
    }
  }
  if (!seen.has('name')) throw new AppError('bad_input', 'Map a source property to the display name (name)');
  if ((parsed.data.match_key ?? 'domain') === 'domain' && !seen.has('domain')) throw new AppError('bad_input', 'Map a source property to domain: it is the match key');
  return { mapping: out, match_key: parsed.data.match_key };
}

async function sourceProperties(conn: ConnectionDoc): Promise<PropertyInfo[]> {
  const connector = getConnector(conn.provider);
  const ctx = connectorContext(conn);
  return withProvider(conn, connector, ctx, () => connector.listProperties(ctx, 'customer'));
}

/** The connection's mapping (or the connector's default), its match key and the source's properties. */
export async function mappingView(connectionId: string) {
  const conn = await getConnection(connectionId);
  const connector = getConnector(conn.provider);
  const saved = conn.field_mapping as FieldMappingEntry[] | null;
  let properties: PropertyInfo[] = [];
  let propertiesError: string | null = null;
  if (conn.state === 'connected') {
    try {
      properties = await sourceProperties(conn);
    } catch (e) {
      propertiesError = e instanceof Error ? e.message : String(e);
    }
  } else propertiesError = `The connection is ${conn.state}: reconnect it to list the source's properties`;
  return {
    connection_id: String(conn._id),
    provider: conn.provider,
    match_key: (conn.settings?.match_key ?? 'domain') as (typeof MATCH_KEYS)[number],
    /** the match key and the display-name source are fixed once the first full sync ran */
    locked: !!conn.first_full_sync_at,
    is_default: !saved?.length,
    mapping: saved?.length ? saved : connector.defaultMapping(),
    properties,
    properties_error: propertiesError,
    custom_fields: connector.capabilities.customFields,
  };
}

/** Replaces the mapping (and match key) after validating every entry; nothing is saved on a refusal. */
export async function saveMapping(connectionId: string, input: unknown) {
  const conn = await getConnection(connectionId);
  if (conn.state !== 'connected') throw new AppError('conflict', `The connection is ${conn.state}: reconnect it before changing its mapping`);
  const valid = validateMapping(input, await sourceProperties(conn));
  const patch: Record<string, unknown> = { field_mapping: valid.mapping };
  if (valid.match_key) patch.match_key = valid.match_key;
  await updateConnectionSettings(connectionId, patch);
  return mappingView(connectionId);
}

export const PREVIEW_SAMPLE_SIZE = 5;

/** A mapping applied to the first five real records of the source, without saving anything. */
export async function previewMapping(connectionId: string, input: unknown) {
  const conn = await getConnection(connectionId);
  if (conn.state !== 'connected') throw new AppError('conflict', `The connection is ${conn.state}: reconnect it to preview`);
  const connector = getConnector(conn.provider);
  const ctx = connectorContext(conn);
  const valid = validateMapping(input, await sourceProperties(conn));
  const page = await withProvider(conn, connector, ctx, () =>
    connector.pull(ctx, { kind: 'customer', cursor: null, pageSize: PREVIEW_SAMPLE_SIZE, fields: valid.mapping.map((m) => m.source) }),
  );
  const ws = await Workspace.findById(conn.workspace_id, { 'settings.plans': 1 }).lean();
  const plans = ws?.settings?.plans ?? [];
  return page.records.slice(0, PREVIEW_SAMPLE_SIZE).map((r) => {
    const m = mapCustomer(r, valid.mapping, plans);
    return {
      external_id: r.externalId,
      url: r.url ?? null,
      fields: Object.fromEntries(valid.mapping.map((e) => [e.target, previewValue(e, m)])),
    };
  });
}

/** What one mapped field became, as text for the preview table. */
function previewValue(e: FieldMappingEntry, m: ReturnType<typeof mapCustomer>): string | null {
  const own: Record<string, unknown> = {
    name: m.name, domain: m.domain, owner: m.owner_source_id, plan: m.plan, status: m.status, arr: m.arr, industry: m.industry,
    employee_count: m.employee_count, created_at: m.source_created_at, last_activity_at: m.last_activity_at,
  };
  const v = e.target.startsWith('custom:') ? m.custom_fields[e.target.slice(7)] : e.target.startsWith('tag:') ? (m.tags.includes(e.target.slice(4)) ? 'tagged' : null) : own[e.target];
  if (v == null) return null;
  return v instanceof Date ? v.toISOString() : String(v);
}
