// The HubSpot connector: companies → customers, contacts → contacts, through the official
// @hubspot/api-client pointed at HUBSPOT_API_BASE_URL. It only translates: paging,
// search windows, webhooks and errors become the provider-neutral shapes of
// core/connectors/connector.ts; the engine decides what to do with them.
//
// SDK facts this module is built around: numberOfApiCallRetries counts total attempts and,
// on a TEN_SECONDLY_ROLLING 429, the SDK sleeps 10 s × attempt ignoring Retry-After. So the
// SDK makes exactly one attempt and the engine retries, honouring Retry-After. The SDK's
// retry settings are a process-wide singleton that each `new Client()` overwrites and that
// an API object picks up when first touched, so every client touches its APIs at once.
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@hubspot/api-client';
import { env } from '../../env.ts';
import { safeEqual } from '../../crypto.ts';
import { deadlineAgent, withDeadline } from './deadline.ts';
import {
  ConnectorError,
  type Connector,
  type ConnectorContext,
  type Credentials,
  type FieldMappingEntry,
  type Page,
  type PropertyInfo,
  type PullRequest,
  type RecordKind,
  type SourceRecord,
  type WebhookEvent,
  type WebhookRequest,
  type Writeback,
} from '../connector.ts';

/** HubSpot caps search paging at 10,000 results per query. */
export const SEARCH_RESULT_CAP = 10_000;
const LIST_PAGE = 100;
const SEARCH_PAGE = 200;
const WEBHOOK_MAX_AGE_MS = 5 * 60_000;
export const PIVOTAL_STATUS_PROPERTY = 'pivotal_status';

const OBJECT = { customer: 'companies', contact: 'contacts' } as const;
/** The property each object type's search filters "modified since" on. */
const MODIFIED_PROP = { customer: 'hs_lastmodifieddate', contact: 'lastmodifieddate' } as const;
const BASE_FIELDS = {
  customer: ['name', 'domain', 'website', 'hs_lastmodifieddate', 'lifecyclestage', 'createdate', 'hubspot_owner_id'],
  contact: ['email', 'firstname', 'lastname', 'jobtitle', 'phone', 'lastmodifieddate', 'hs_lastmodifieddate', 'associatedcompanyid'],
};

export interface HubspotFilter {
  lifecycle_stages?: string[];
  list_id?: string;
  /** company property holding the pipeline (custom portals differ) and the accepted values */
  pipeline_property?: string;
  pipelines?: string[];
}

function basePath(): string {
  return env().HUBSPOT_API_BASE_URL.replace(/\/+$/, '');
}

function client(accessToken: string): Client {
  // The agent gives every request a deadline and the caller's AbortSignal (./deadline.ts).
  const c = new Client({ accessToken, basePath: basePath(), numberOfApiCallRetries: 1, httpAgent: deadlineAgent(basePath()) });
  // Touch every API now so this client's retry settings are the ones they keep.
  void c.crm.companies.basicApi;
  void c.crm.companies.searchApi;
  void c.crm.contacts.basicApi;
  void c.crm.contacts.searchApi;
  void c.crm.properties.coreApi;
  void c.crm.owners.ownersApi;
  void c.crm.lists.membershipsApi;
  void c.oauth.tokensApi;
  void c.oauth.accessTokensApi;
  return c;
}

// One client per access token, reused: a full walk makes thousands of calls, and a client
// builds every API object of the SDK (allocation churn that shows up in a worker's RSS).
const clients = new Map<string, Client>();
function api(ctx: ConnectorContext): Client {
  const token = ctx.credentials().accessToken;
  const key = `${basePath()}\n${token}`;
  let c = clients.get(key);
  if (!c) {
    if (clients.size >= 50) clients.delete(clients.keys().next().value!);
    c = client(token);
    clients.set(key, c);
  }
  return c;
}

/** SDK errors ({code, body, headers}) → the engine's few codes. */
export function classifyHubspotError(e: unknown): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const err = e as { code?: unknown; body?: any; headers?: Record<string, string>; message?: string };
  const status = typeof err.code === 'number' ? err.code : undefined;
  const body = err.body && typeof err.body === 'object' ? err.body : undefined;
  const providerResponse = body ? JSON.stringify(body).slice(0, 4000) : undefined;
  const message = String(body?.message ?? err.message ?? 'HubSpot request failed');
  if (status === 401) return new ConnectorError('auth_expired', `HubSpot rejected the credentials: ${message}`, { status, providerResponse });
  if (status === 429) {
    const header = Number(err.headers?.['retry-after'] ?? err.headers?.['Retry-After']);
    const windowMs = body?.policyName === 'SECONDLY' ? 1000 : 10_000;
    const retryAfterMs = Number.isFinite(header) && header > 0 ? header * 1000 : windowMs;
    if (body?.policyName === 'DAILY') return new ConnectorError('quota_exhausted', message, { status, providerResponse, resumeAt: new Date(Date.now() + 3_600_000) });
    return new ConnectorError('rate_limited', message, { status, retryAfterMs, providerResponse });
  }
  if (status === undefined || status >= 500 || status === 408) return new ConnectorError('temporary', message, { status, providerResponse });
  return new ConnectorError('permanent', message, { status, providerResponse });
}

/**
 * Paces one connection's requests under HubSpot's rolling window (X-HubSpot-RateLimit-Max
 * per -Interval-Milliseconds). It stays out of the way until the first 429 (other apps and
 * workers may share the limit, so only a refusal says we are the ones at it); from then on
 * it keeps a log of its own send times and waits for a slot instead of bouncing off 429s,
 * whose Retry-After is rounded up to whole seconds.
 */
class Pacer {
  max = 0;
  windowMs = 0;
  sent: number[] = [];
  /** no request before this instant (set from Retry-After when our log cannot explain a 429) */
  notBefore = 0;
  static readonly MARGIN_MS = 100;

  async slot(signal?: AbortSignal): Promise<number> {
    for (;;) {
      const now = Date.now();
      const horizon = now - this.windowMs - Pacer.MARGIN_MS;
      let drop = 0;
      while (drop < this.sent.length && this.sent[drop]! <= horizon) drop++;
      if (drop) this.sent.splice(0, drop);
      let wait = this.notBefore - now;
      if (this.max && this.sent.length >= this.max) wait = Math.max(wait, this.sent[this.sent.length - this.max]! + this.windowMs + Pacer.MARGIN_MS - now);
      if (wait <= 0) break;
      await sleep(wait, undefined, { signal });
    }
    const at = Date.now();
    this.sent.push(at);
    // Keep the log bounded while the limit is still unknown.
    if (!this.max && this.sent.length > 1000) this.sent.splice(0, this.sent.length - 1000);
    return at;
  }

  refused(at: number, err: { headers?: Record<string, string> }, retryAfterMs: number): void {
    // A refused request does not count against the window.
    const i = this.sent.lastIndexOf(at);
    if (i >= 0) this.sent.splice(i, 1);
    const h = err.headers ?? {};
    const max = Number(h['x-hubspot-ratelimit-max'] ?? h['X-HubSpot-RateLimit-Max']);
    const windowMs = Number(h['x-hubspot-ratelimit-interval-milliseconds'] ?? h['X-HubSpot-RateLimit-Interval-Milliseconds']);
    if (!(max > 0 && windowMs > 0)) {
      this.notBefore = Date.now() + retryAfterMs;
      return;
    }
    this.max = max;
    this.windowMs = windowMs;
    const inWindow = this.sent.filter((t) => t > Date.now() - windowMs).length;
    // Our own log does not fill the window: someone else shares the limit; trust Retry-After.
    if (inWindow < max) this.notBefore = Date.now() + retryAfterMs;
  }
}
const pacers = new Map<string, Pacer>();

/** Every HubSpot request goes through here: paced, bounded by PIVOTAL_PROVIDER_TIMEOUT_MS, cancelled with `signal`. */
async function call<T>(fn: () => Promise<T>, ctx?: ConnectorContext, signal?: AbortSignal): Promise<T> {
  const pacer = ctx ? (pacers.get(ctx.connectionId) ?? pacers.set(ctx.connectionId, new Pacer()).get(ctx.connectionId)!) : null;
  const at = pacer ? await pacer.slot(signal) : 0;
  try {
    return await withDeadline(env().PIVOTAL_PROVIDER_TIMEOUT_MS, signal, fn);
  } catch (e) {
    const err = classifyHubspotError(e);
    if (pacer && err.code === 'rate_limited' && err.status === 429 && (e as any)?.body?.policyName !== 'SECONDLY') pacer.refused(at, e as any, err.retryAfterMs ?? 1000);
    throw err;
  }
}

const toDate = (v: unknown): Date | null => {
  if (v == null || v === '') return null;
  const d = v instanceof Date ? v : new Date(/^\d+$/.test(String(v)) ? Number(v) : String(v));
  return Number.isNaN(d.getTime()) ? null : d;
};

// Company list memberships, cached briefly so a full walk does not re-read the list per page.
const listCache = new Map<string, { at: number; ids: Set<string> }>();
async function listMembers(ctx: ConnectorContext, listId: string): Promise<Set<string>> {
  const key = `${ctx.connectionId}:${listId}`;
  const hit = listCache.get(key);
  if (hit && Date.now() - hit.at < 60_000) return hit.ids;
  const ids = new Set<string>();
  let after: string | undefined;
  const c = api(ctx);
  do {
    const page = await call(() => c.crm.lists.membershipsApi.getPage(listId, after, undefined, 250), ctx);
    for (const m of page.results) ids.add(String(m.recordId));
    after = page.paging?.next?.after;
  } while (after);
  listCache.set(key, { at: Date.now(), ids });
  return ids;
}

function filterOf(ctx: ConnectorContext): HubspotFilter {
  return (ctx.settings.filter as HubspotFilter | undefined) ?? {};
}

async function scopeCheck(ctx: ConnectorContext): Promise<((r: SourceRecord) => boolean) | null> {
  const f = filterOf(ctx);
  const checks: ((r: SourceRecord) => boolean)[] = [];
  if (f.lifecycle_stages?.length) {
    const stages = new Set(f.lifecycle_stages.map((s) => s.toLowerCase()));
    checks.push((r) => stages.has(String(r.fields.lifecyclestage ?? '').toLowerCase()));
  }
  if (f.pipelines?.length) {
    const prop = f.pipeline_property ?? 'pipeline';
    const ok = new Set(f.pipelines);
    checks.push((r) => ok.has(String(r.fields[prop] ?? '')));
  }
  if (f.list_id) {
    const members = await listMembers(ctx, f.list_id);
    checks.push((r) => members.has(r.externalId));
  }
  return checks.length ? (r) => checks.every((c) => c(r)) : null;
}

function filterFields(ctx: ConnectorContext): string[] {
  const f = filterOf(ctx);
  return f.pipelines?.length ? [f.pipeline_property ?? 'pipeline'] : [];
}

function toRecord(kind: RecordKind, raw: any): SourceRecord {
  const fields: Record<string, unknown> = { ...(raw.properties ?? {}) };
  const modifiedAt = toDate(fields[MODIFIED_PROP[kind]] ?? fields.hs_lastmodifieddate ?? raw.updatedAt);
  const rec: SourceRecord = {
    kind,
    objectType: kind === 'customer' ? 'company' : 'contact',
    externalId: String(raw.id),
    modifiedAt,
    deleted: raw.archived === true,
    fields,
  };
  if (kind === 'contact') {
    // Primary associations come back twice (typed + unlabeled); the primary company goes first.
    const ids = new Set<string>();
    if (fields.associatedcompanyid) ids.add(String(fields.associatedcompanyid));
    for (const a of raw.associations?.companies?.results ?? []) ids.add(String(a.id));
    rec.parentExternalIds = [...ids];
  }
  return rec;
}

function fieldsFor(ctx: ConnectorContext, req: { kind: RecordKind; fields?: string[] }): string[] {
  const extra = req.kind === 'customer' ? filterFields(ctx) : [];
  return [...new Set([...BASE_FIELDS[req.kind], ...(req.fields ?? []), ...extra])];
}

interface SearchCursor {
  /** window start, epoch ms (inclusive) */
  since: number;
  after: string | null;
}

async function pull(ctx: ConnectorContext, req: PullRequest): Promise<Page> {
  const c = api(ctx);
  const objects = req.kind === 'customer' ? c.crm.companies : c.crm.contacts;
  const properties = fieldsFor(ctx, req);
  const associations = req.kind === 'contact' ? ['companies'] : undefined;
  let records: SourceRecord[];
  let nextCursor: string | null;
  let total: number | null = null;

  if (!req.since) {
    const limit = Math.min(req.pageSize ?? LIST_PAGE, LIST_PAGE);
    const page = await call(() => objects.basicApi.getPage(limit, req.cursor ?? undefined, properties, undefined, associations), ctx, req.signal);
    records = page.results.map((r) => toRecord(req.kind, r));
    nextCursor = page.paging?.next?.after ?? null;
  } else {
    // Incremental: search by last-modified, ascending. Search stops at 10,000 results, so
    // before reaching the cap the window is split: a new search starts at the newest
    // stamp seen (records at that exact instant are read twice, which the engine's
    // content hashes make harmless).
    const cur: SearchCursor = req.cursor ? (JSON.parse(req.cursor) as SearchCursor) : { since: req.since.getTime(), after: null };
    const limit = Math.min(req.pageSize ?? SEARCH_PAGE, SEARCH_PAGE);
    const prop = MODIFIED_PROP[req.kind];
    const res = await call(() =>
      objects.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: prop, operator: 'GTE' as any, value: String(cur.since) }] }],
        sorts: [{ propertyName: prop, direction: 'ASCENDING' } as unknown as string],
        properties,
        limit,
        after: cur.after ?? undefined,
      } as any),
      ctx,
      req.signal,
    );
    records = res.results.map((r) => toRecord(req.kind, r));
    total = res.total ?? null;
    const after = res.paging?.next?.after ?? null;
    if (!after) nextCursor = null;
    else if (Number(after) + limit > SEARCH_RESULT_CAP) {
      const newest = records.reduce((m, r) => Math.max(m, r.modifiedAt?.getTime() ?? 0), cur.since);
      // A single instant with more than 10,000 changes cannot be split further; move past it.
      nextCursor = JSON.stringify({ since: newest > cur.since ? newest : cur.since + 1, after: null } satisfies SearchCursor);
    } else nextCursor = JSON.stringify({ since: cur.since, after } satisfies SearchCursor);
    if (req.kind === 'contact' && records.length) {
      // Search results carry no associations: read them in one batch per page.
      const assoc = await call(() =>
        c.crm.associations.v4.batchApi.getPage('contacts', 'companies', { inputs: records.map((r) => ({ id: r.externalId })) }),
        ctx,
        req.signal,
      );
      const byId = new Map<string, string[]>();
      for (const row of assoc.results) byId.set(String(row._from.id), row.to.map((t) => String(t.toObjectId)));
      for (const r of records) r.parentExternalIds = [...new Set([...(r.parentExternalIds ?? []), ...(byId.get(r.externalId) ?? [])])];
    }
  }

  if (req.kind === 'customer') {
    const inScope = await scopeCheck(ctx);
    if (inScope) for (const r of records) if (!r.deleted && !inScope(r)) r.outOfScope = true;
  }
  return { records, nextCursor, total };
}

async function fetchOne(ctx: ConnectorContext, kind: RecordKind, externalId: string): Promise<SourceRecord | null> {
  const c = api(ctx);
  const objects = kind === 'customer' ? c.crm.companies : c.crm.contacts;
  try {
    const raw = await withDeadline(env().PIVOTAL_PROVIDER_TIMEOUT_MS, undefined, () => objects.basicApi.getById(externalId, fieldsFor(ctx, { kind, fields: ctx.settings.fields as string[] | undefined }), undefined, kind === 'contact' ? ['companies'] : undefined));
    const rec = toRecord(kind, raw);
    if (kind === 'customer') {
      const inScope = await scopeCheck(ctx);
      if (inScope && !inScope(rec)) rec.outOfScope = true;
    }
    return rec;
  } catch (e) {
    const err = classifyHubspotError(e);
    if (err.status === 404) return null;
    throw err;
  }
}

async function listProperties(ctx: ConnectorContext, kind: RecordKind): Promise<PropertyInfo[]> {
  const res = await call(() => api(ctx).crm.properties.coreApi.getAll(OBJECT[kind]));
  const types = new Set(['string', 'number', 'date', 'datetime', 'bool', 'enumeration']);
  return res.results
    .filter((p) => !p.archived && !p.hidden)
    .map((p) => ({
      name: p.name,
      label: p.label,
      type: (types.has(p.type) ? p.type : 'string') as PropertyInfo['type'],
      options: p.options?.length ? p.options.map((o) => o.value) : undefined,
      readOnly: p.modificationMetadata?.readOnlyValue ?? undefined,
    }));
}

const ownerEmails = new Map<string, { at: number; email: string | null }>();
async function resolveOwnerEmail(ctx: ConnectorContext, ownerId: string): Promise<string | null> {
  const key = `${ctx.connectionId}:${ownerId}`;
  const hit = ownerEmails.get(key);
  if (hit && Date.now() - hit.at < 5 * 60_000) return hit.email;
  let email: string | null = null;
  try {
    const owner = await withDeadline(env().PIVOTAL_PROVIDER_TIMEOUT_MS, undefined, () => api(ctx).crm.owners.ownersApi.getById(Number(ownerId)));
    email = owner.email?.toLowerCase() ?? null;
  } catch (e) {
    const err = classifyHubspotError(e);
    if (err.status !== 404) throw err;
  }
  ownerEmails.set(key, { at: Date.now(), email });
  return email;
}

async function findOwnerId(ctx: ConnectorContext, email: string): Promise<string | null> {
  const res = await call(() => api(ctx).crm.owners.ownersApi.getPage(email, undefined, 1));
  return res.results[0]?.id ?? null;
}

/** Creates the pivotal_status company property the first time Pivotal writes a status. */
async function ensureStatusProperty(c: Client): Promise<void> {
  try {
    await c.crm.properties.coreApi.getByName('companies', PIVOTAL_STATUS_PROPERTY);
  } catch (e) {
    if (classifyHubspotError(e).status !== 404) throw classifyHubspotError(e);
    try {
      await c.crm.properties.coreApi.create('companies', {
        name: PIVOTAL_STATUS_PROPERTY,
        label: 'Pivotal status',
        type: 'enumeration',
        fieldType: 'select',
        groupName: 'companyinformation',
        description: 'Customer status set in Pivotal (active, at risk, churned, archived)',
        options: [
          { label: 'Active', value: 'active', displayOrder: 0, hidden: false },
          { label: 'At risk', value: 'at_risk', displayOrder: 1, hidden: false },
          { label: 'Churned', value: 'churned', displayOrder: 2, hidden: false },
          { label: 'Archived', value: 'archived', displayOrder: 3, hidden: false },
        ],
      } as any);
    } catch (e2) {
      // Another writer created it first.
      if (classifyHubspotError(e2).status !== 409) throw classifyHubspotError(e2);
    }
  }
}

async function writeback(ctx: ConnectorContext, externalId: string, changes: Writeback): Promise<{ modifiedAt: Date | null }> {
  const c = api(ctx);
  const properties: Record<string, string> = {};
  if (changes.status) {
    await call(() => ensureStatusProperty(c));
    properties[PIVOTAL_STATUS_PROPERTY] = changes.status;
  }
  if (changes.ownerEmail) {
    const ownerId = await findOwnerId(ctx, changes.ownerEmail);
    if (ownerId) properties.hubspot_owner_id = ownerId;
  }
  if (changes.name) properties.name = changes.name;
  if (changes.plan) {
    const mapping = (ctx.settings.field_mapping as FieldMappingEntry[] | undefined) ?? hubspot.defaultMapping();
    const source = mapping.find((m) => m.target === 'plan')?.source;
    if (source) {
      // Enumerations take an option value: match the plan against values and labels.
      const def = await call(() => c.crm.properties.coreApi.getByName('companies', source));
      const want = changes.plan.toLowerCase();
      const opt = def.options?.find((o) => o.value.toLowerCase() === want || o.label.toLowerCase() === want);
      if (def.type !== 'enumeration') properties[source] = changes.plan;
      else if (opt) properties[source] = opt.value;
    }
  }
  if (Object.keys(properties).length === 0) return { modifiedAt: null };
  const res = await call(() => c.crm.companies.basicApi.update(externalId, { properties }));
  return { modifiedAt: toDate(res.properties.hs_lastmodifieddate ?? res.updatedAt) };
}

function header(req: WebhookRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** X-HubSpot-Signature-v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp)), fresh within 5 minutes. */
export function verifyHubspotSignature(req: WebhookRequest, secret: string, now = Date.now()): boolean {
  const signature = header(req, 'x-hubspot-signature-v3');
  const ts = Number(header(req, 'x-hubspot-request-timestamp'));
  if (!signature || !Number.isFinite(ts) || Math.abs(now - ts) > WEBHOOK_MAX_AGE_MS) return false;
  const expected = createHmac('sha256', secret).update(Buffer.concat([Buffer.from(`${req.method.toUpperCase()}${req.url}`), req.rawBody, Buffer.from(String(ts))])).digest('base64');
  return safeEqual(expected, signature);
}

function parseWebhook(req: WebhookRequest): WebhookEvent[] {
  const parsed = JSON.parse(req.rawBody.toString('utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error('HubSpot webhook body must be a JSON array');
  return parsed.map((e: any): WebhookEvent => {
    const type = String(e.subscriptionType ?? '');
    if (e.eventId == null || e.objectId == null || !type) throw new Error('HubSpot webhook event without eventId, objectId or subscriptionType');
    const isCompany = type.startsWith('company.');
    // An association change is a change of the contact's parent: re-read the contact.
    const assoc = type.endsWith('.associationChange');
    const kind: RecordKind = isCompany && !assoc ? 'customer' : 'contact';
    const externalId = String(assoc && isCompany ? e.toObjectId ?? e.objectId : e.objectId);
    return {
      eventId: String(e.eventId),
      accountId: e.portalId == null ? null : String(e.portalId),
      type,
      kind,
      externalId,
      occurredAt: new Date(Number(e.occurredAt) || Date.now()),
      deleted: type.endsWith('.deletion'),
    };
  });
}

const oauth = {
  authorizeUrl({ state, redirectUri }: { state: string; redirectUri: string }): string {
    const u = new URL(env().HUBSPOT_AUTH_URL);
    u.searchParams.set('client_id', env().HUBSPOT_CLIENT_ID ?? '');
    u.searchParams.set('redirect_uri', redirectUri);
    u.searchParams.set('scope', 'oauth crm.objects.companies.read crm.objects.companies.write crm.objects.contacts.read crm.objects.owners.read crm.schemas.companies.read crm.schemas.companies.write crm.lists.read');
    u.searchParams.set('state', state);
    return u.toString();
  },
  async exchangeCode({ code, redirectUri }: { code: string; redirectUri: string }): Promise<Credentials> {
    const c = client('');
    const t = await call(() => c.oauth.tokensApi.create('authorization_code', code, redirectUri, env().HUBSPOT_CLIENT_ID, env().HUBSPOT_CLIENT_SECRET));
    const info = await call(() => c.oauth.accessTokensApi.get(t.accessToken));
    return { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: Date.now() + t.expiresIn * 1000, accountId: String(info.hubId) };
  },
  async refresh(credentials: Credentials): Promise<Credentials> {
    if (!credentials.refreshToken) throw new ConnectorError('auth_expired', 'This HubSpot connection has no refresh token: reconnect it');
    try {
      const t = await withDeadline(env().PIVOTAL_PROVIDER_TIMEOUT_MS, undefined, () => client('').oauth.tokensApi.create('refresh_token', undefined, undefined, env().HUBSPOT_CLIENT_ID, env().HUBSPOT_CLIENT_SECRET, credentials.refreshToken!));
      return { ...credentials, accessToken: t.accessToken, refreshToken: t.refreshToken ?? credentials.refreshToken, expiresAt: Date.now() + t.expiresIn * 1000 };
    } catch (e) {
      const err = classifyHubspotError(e);
      // A refused refresh token means the grant is gone: only the admin can fix that.
      if (err.status === 400 || err.status === 401) throw new ConnectorError('auth_expired', 'HubSpot refused the refresh token: reconnect HubSpot', { status: err.status, providerResponse: err.providerResponse });
      throw err;
    }
  },
};

export const hubspot: Connector = {
  provider: 'hubspot',
  capabilities: { contacts: true, customFields: true, writeback: ['status', 'ownerEmail', 'plan', 'name'], webhooks: true },
  oauth,
  defaultMapping: () => [
    { target: 'name', source: 'name' },
    { target: 'domain', source: 'domain' },
    { target: 'owner', source: 'hubspot_owner_id' },
    { target: 'plan', source: 'tier' },
    { target: 'arr', source: 'annualrevenue', type: 'number' },
    { target: 'industry', source: 'industry' },
    { target: 'employee_count', source: 'numberofemployees', type: 'number' },
    { target: 'created_at', source: 'createdate', type: 'date' },
    { target: 'last_activity_at', source: 'notes_last_updated', type: 'date' },
  ],
  listProperties,
  pull,
  fetchOne,
  resolveOwnerEmail,
  findOwnerId,
  writeback,
  verifyWebhook: (req, secret) => verifyHubspotSignature(req, secret),
  parseWebhook,
};

