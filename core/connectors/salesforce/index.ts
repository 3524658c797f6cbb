// The Salesforce connector: Accounts → customers, Contacts → contacts, through jsforce
// against the connection's instance URL. It only translates: full walks page by Id (REST)
// or by Bulk API 2.0 locator (big books), polls page on (SystemModstamp, Id) so records
// sharing one stamp across a page boundary all arrive, deletions come from getDeleted,
// and writeback goes through sObject collections. The engine owns runs, checkpoints,
// matching and persistence.
import type { Connection } from 'jsforce';
import { z } from 'zod';
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
  type Writeback,
  type WritebackItem,
  type WritebackResult,
} from '../connector.ts';
import { call, connect, connectedApp, connectWith, loginUrl, oauthClient, orgIdFromIdentityUrl } from './client.ts';
import { queryJobResults, runQueryJob } from './bulk.ts';
import { buildFilter, FIELD_NAME, filterValueProblem, RECORD_ID, soqlDateTime, soqlId, soqlString, type DescribeField } from './soql.ts';
import { AppError } from '../../errors.ts';

/**
 * Full walks of at least this many records use the Bulk API 2.0: where it overtook REST in
 * `npm run bench -- salesforce` (between 80,000 and 120,000 Accounts; README "Benchmarks").
 * A connection's `bulk_threshold` setting overrides it.
 */
export const BULK_THRESHOLD = 100_000;
const REST_PAGE = 2000;
const BULK_PAGE = 10_000;
/** Salesforce keeps deleted-record ids for about 15 days and refuses windows older than 30. */
const DELETED_WINDOW_MS = 29 * 86_400_000;
export const DEFAULT_STATUS_FIELD = 'Pivotal_Status__c';
/** Writes go through sObject collections, at most 200 records per call. */
export const COLLECTION_SIZE = 200;

const OBJECT = { customer: 'Account', contact: 'Contact' } as const;
const OBJECT_TYPE = { customer: 'account', contact: 'contact' } as const;
const BASE_FIELDS = {
  customer: ['Id', 'Name', 'Website', 'OwnerId', 'AnnualRevenue', 'Industry', 'NumberOfEmployees', 'CreatedDate', 'SystemModstamp'],
  contact: ['Id', 'FirstName', 'LastName', 'Email', 'Title', 'Phone', 'AccountId', 'SystemModstamp'],
};
/** Contact fields under the names the engine's contact mapping reads. */
const CONTACT_ALIASES: Record<string, string> = { FirstName: 'firstname', LastName: 'lastname', Email: 'email', Title: 'title', Phone: 'phone' };

// `total` (the count taken when the walk started) rides along so every page reports it.
const fullCursor = z.union([
  z.object({ m: z.literal('rest'), after: z.string(), total: z.number().nullable().optional() }),
  z.object({ m: z.literal('bulk'), job: z.string().regex(/^[A-Za-z0-9]{15,18}$/), locator: z.string().nullable(), total: z.number().nullable().optional() }),
]);
const incrementalCursor = z.union([
  z.object({ m: z.literal('changes'), ts: z.string().datetime({ offset: true }), id: z.string().regex(RECORD_ID).nullable() }),
  z.object({ m: z.literal('deleted') }),
]);

function parseCursor<T>(schema: z.ZodType<T>, cursor: string): T {
  try {
    return schema.parse(JSON.parse(cursor));
  } catch {
    throw new ConnectorError('cursor_invalid', 'The Salesforce sync checkpoint is not readable; the walk starts again');
  }
}

// describe results, kept briefly: every page needs the field list, and fields change rarely.
const describeCache = new Map<string, { at: number; fields: Map<string, DescribeField> }>();
async function describe(ctx: ConnectorContext, conn: Connection, object: string): Promise<Map<string, DescribeField>> {
  // Keyed by org too: a token check (one shared context id) must never see another org's fields.
  const key = `${ctx.connectionId}:${conn.instanceUrl}:${object}`;
  const hit = describeCache.get(key);
  if (hit && Date.now() - hit.at < 10 * 60_000) return hit.fields;
  const res = await call(conn, `describe ${object}`, () => conn.sobject(object).describe());
  const fields = new Map<string, DescribeField>();
  for (const f of res.fields as unknown as DescribeField[]) fields.set(f.name.toLowerCase(), f);
  if (describeCache.size > 200) describeCache.delete(describeCache.keys().next().value!);
  describeCache.set(key, { at: Date.now(), fields });
  return fields;
}

/** Forgets what describe said (after the admin adds a field in Salesforce, say). */
export function forgetDescribe(connectionId: string): void {
  for (const k of describeCache.keys()) if (k.startsWith(`${connectionId}:`)) describeCache.delete(k);
}

/** The fields to select: the connector's own plus the mapping's, those the object really has. */
function selectFields(kind: RecordKind, extra: string[] | undefined, described: Map<string, DescribeField>): string[] {
  const out = new Map<string, string>();
  for (const f of [...BASE_FIELDS[kind], ...(extra ?? [])]) {
    const d = FIELD_NAME.test(f) ? described.get(f.toLowerCase()) : undefined;
    if (d) out.set(d.name.toLowerCase(), d.name);
  }
  return [...out.values()];
}

function filterClause(ctx: ConnectorContext, kind: RecordKind, described: Map<string, DescribeField>): string | null {
  if (kind !== 'customer') return null;
  try {
    return buildFilter(ctx.settings.filter, described);
  } catch (e) {
    throw new ConnectorError('permanent', e instanceof Error ? e.message : String(e));
  }
}

/** The admin's filter checked against a fresh describe of Account (a field added a minute ago counts). */
async function checkFilter(ctx: ConnectorContext, filter: unknown): Promise<string | null> {
  forgetDescribe(ctx.connectionId);
  const described = await describe(ctx, await connect(ctx), OBJECT.customer);
  try {
    buildFilter(filter, described);
  } catch (e) {
    if (e instanceof AppError && e.code === 'bad_input') return e.message;
    throw e;
  }
  return filterValueProblem(filter, described);
}

const toDate = (v: unknown): Date | null => {
  if (v == null || v === '') return null;
  const d = new Date(String(v).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(d.getTime()) ? null : d;
};

function toRecord(kind: RecordKind, raw: Record<string, unknown>, instanceUrl: string): SourceRecord {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (k !== 'attributes') fields[k] = v === '' ? null : v;
  const id = String(fields.Id);
  const rec: SourceRecord = {
    kind,
    objectType: OBJECT_TYPE[kind],
    externalId: id,
    modifiedAt: toDate(fields.SystemModstamp),
    fields,
    url: `${instanceUrl.replace(/\/+$/, '')}/lightning/r/${OBJECT[kind]}/${id}/view`,
  };
  if (kind === 'contact') {
    for (const [from, to] of Object.entries(CONTACT_ALIASES)) fields[to] = fields[from] ?? null;
    rec.parentExternalIds = fields.AccountId ? [String(fields.AccountId)] : [];
  }
  return rec;
}

async function soql(conn: Connection, query: string, max: number): Promise<Record<string, unknown>[]> {
  // autoFetch follows nextRecordsUrl when Salesforce answers in smaller batches than asked.
  const res = await call(conn, 'a SOQL query', async () => await conn.query(query, { autoFetch: true, maxFetch: max }));
  return res.records as Record<string, unknown>[];
}

/** Marks the records the admin's filter excludes (they are archived, not deleted). */
async function markScope(conn: Connection, records: SourceRecord[], where: string | null): Promise<void> {
  if (!where || records.length === 0) return;
  const live = records.filter((r) => !r.deleted);
  const inScope = new Set<string>();
  for (let i = 0; i < live.length; i += 500) {
    const ids = live.slice(i, i + 500).map((r) => soqlId(r.externalId)).join(', ');
    for (const row of await soql(conn, `SELECT Id FROM Account WHERE Id IN (${ids}) AND ${where}`, 500)) inScope.add(String(row.Id));
  }
  for (const r of live) if (!inScope.has(r.externalId)) r.outOfScope = true;
}

function bulkThreshold(ctx: ConnectorContext): number {
  const t = Number(ctx.settings.bulk_threshold);
  return Number.isFinite(t) && t > 0 ? t : BULK_THRESHOLD;
}

async function fullPage(ctx: ConnectorContext, conn: Connection, req: PullRequest, fields: string[], where: string | null): Promise<Page> {
  const object = OBJECT[req.kind];
  const instanceUrl = conn.instanceUrl;
  let cursor = req.cursor ? parseCursor(fullCursor, req.cursor) : null;
  let total = cursor?.total ?? null;
  if (!cursor) {
    if (req.pageSize) cursor = { m: 'rest', after: '' };
    else {
      const count = await call(conn, 'a SOQL count', async () => await conn.query(`SELECT COUNT() FROM ${object}${where ? ` WHERE ${where}` : ''}`));
      total = count.totalSize;
      cursor = total >= bulkThreshold(ctx)
        ? { m: 'bulk', job: await runQueryJob(conn, `SELECT ${fields.join(', ')} FROM ${object}${where ? ` WHERE ${where}` : ''}`), locator: null }
        : { m: 'rest', after: '' };
    }
  }
  if (cursor.m === 'bulk') {
    let page;
    try {
      page = await queryJobResults(conn, cursor.job, cursor.locator, BULK_PAGE);
    } catch (e) {
      // Results are kept for 7 days; an older checkpoint starts the walk again.
      if (e instanceof ConnectorError && e.status === 404) throw new ConnectorError('cursor_invalid', `The Bulk API query job ${cursor.job} is gone: ${e.message}`);
      throw e;
    }
    const records = page.rows.map((r) => toRecord(req.kind, r, instanceUrl));
    return { records, total, nextCursor: page.locator ? JSON.stringify({ m: 'bulk', job: cursor.job, locator: page.locator, total }) : null };
  }
  const limit = Math.min(req.pageSize ?? REST_PAGE, REST_PAGE);
  const conditions = [where, cursor.after ? `Id > ${soqlId(cursor.after)}` : null].filter(Boolean);
  const rows = await soql(conn, `SELECT ${fields.join(', ')} FROM ${object}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''} ORDER BY Id LIMIT ${limit}`, limit);
  const records = rows.map((r) => toRecord(req.kind, r, instanceUrl));
  const last = records[records.length - 1];
  return { records, total, nextCursor: records.length === limit && last ? JSON.stringify({ m: 'rest', after: last.externalId, total }) : null };
}

/** Changes since the last poll, in (SystemModstamp, Id) order, then the deletions. */
async function incrementalPage(ctx: ConnectorContext, conn: Connection, req: PullRequest, fields: string[], where: string | null): Promise<Page> {
  const object = OBJECT[req.kind];
  const since = req.since!;
  const cursor = req.cursor ? parseCursor(incrementalCursor, req.cursor) : { m: 'changes' as const, ts: since.toISOString(), id: null };
  if (cursor.m === 'deleted') {
    const end = new Date();
    // Salesforce answers whole minutes and wants start < end: ask for at least two.
    const start = new Date(Math.min(Math.max(since.getTime(), end.getTime() - DELETED_WINDOW_MS), end.getTime() - 120_000));
    const res = await call(conn, `getDeleted ${object}`, () => conn.sobject(object).deleted(start, end));
    const records: SourceRecord[] = res.deletedRecords.map((d) => ({ kind: req.kind, objectType: OBJECT_TYPE[req.kind], externalId: d.id, modifiedAt: toDate(d.deletedDate), deleted: true, fields: {} }));
    return { records, nextCursor: null };
  }
  const limit = Math.min(req.pageSize ?? REST_PAGE, REST_PAGE);
  const ts = soqlDateTime(new Date(cursor.ts));
  // Tie-safe: past the last (stamp, id) seen, so equal stamps split across pages all arrive.
  const after = cursor.id ? `(SystemModstamp > ${ts} OR (SystemModstamp = ${ts} AND Id > ${soqlId(cursor.id)}))` : `SystemModstamp >= ${ts}`;
  const rows = await soql(conn, `SELECT ${fields.join(', ')} FROM ${object} WHERE ${after} ORDER BY SystemModstamp, Id LIMIT ${limit}`, limit);
  const records = rows.map((r) => toRecord(req.kind, r, conn.instanceUrl));
  await markScope(conn, records, where);
  const last = records[records.length - 1];
  const nextCursor = records.length === limit && last?.modifiedAt
    ? JSON.stringify({ m: 'changes', ts: last.modifiedAt.toISOString(), id: last.externalId })
    : JSON.stringify({ m: 'deleted' });
  return { records, nextCursor };
}

async function pull(ctx: ConnectorContext, req: PullRequest): Promise<Page> {
  const conn = await connect(ctx);
  const described = await describe(ctx, conn, OBJECT[req.kind]);
  const fields = selectFields(req.kind, req.fields, described);
  const where = filterClause(ctx, req.kind, described);
  return req.since ? incrementalPage(ctx, conn, req, fields, where) : fullPage(ctx, conn, req, fields, where);
}

function mappingOf(ctx: ConnectorContext): FieldMappingEntry[] {
  return (ctx.settings.field_mapping as FieldMappingEntry[] | undefined) ?? salesforce.defaultMapping();
}

async function fetchOne(ctx: ConnectorContext, kind: RecordKind, externalId: string): Promise<SourceRecord | null> {
  if (!RECORD_ID.test(externalId)) return null;
  const conn = await connect(ctx);
  const described = await describe(ctx, conn, OBJECT[kind]);
  const fields = selectFields(kind, kind === 'customer' ? mappingOf(ctx).map((m) => m.source) : [], described);
  const rows = await soql(conn, `SELECT ${fields.join(', ')} FROM ${OBJECT[kind]} WHERE Id = ${soqlId(externalId)}`, 1);
  if (!rows[0]) return null;
  const rec = toRecord(kind, rows[0], conn.instanceUrl);
  await markScope(conn, [rec], filterClause(ctx, kind, described));
  return rec;
}

/** Many records by id: one query per 200 ids (the re-read after a batched writeback). */
async function fetchMany(ctx: ConnectorContext, kind: RecordKind, externalIds: string[]): Promise<SourceRecord[]> {
  const ids = [...new Set(externalIds.filter((id) => RECORD_ID.test(id)))];
  if (ids.length === 0) return [];
  const conn = await connect(ctx);
  const described = await describe(ctx, conn, OBJECT[kind]);
  const fields = selectFields(kind, kind === 'customer' ? mappingOf(ctx).map((m) => m.source) : [], described);
  const out: SourceRecord[] = [];
  for (let i = 0; i < ids.length; i += COLLECTION_SIZE) {
    const batch = ids.slice(i, i + COLLECTION_SIZE);
    const rows = await soql(conn, `SELECT ${fields.join(', ')} FROM ${OBJECT[kind]} WHERE Id IN (${batch.map(soqlId).join(', ')})`, batch.length);
    out.push(...rows.map((r) => toRecord(kind, r, conn.instanceUrl)));
  }
  await markScope(conn, out, filterClause(ctx, kind, described));
  return out;
}

const PROPERTY_TYPES: Record<string, PropertyInfo['type']> = {
  double: 'number', currency: 'number', int: 'number', percent: 'number', long: 'number',
  date: 'date', datetime: 'datetime', boolean: 'bool', picklist: 'enumeration', multipicklist: 'enumeration',
};

async function listProperties(ctx: ConnectorContext, kind: RecordKind): Promise<PropertyInfo[]> {
  const described = await describe(ctx, await connect(ctx), OBJECT[kind]);
  return [...described.values()].map((f) => ({
    name: f.name,
    label: f.label,
    type: PROPERTY_TYPES[f.type] ?? 'string',
    options: f.picklistValues?.length ? f.picklistValues.filter((p) => p.active !== false).map((p) => p.value) : undefined,
    readOnly: f.updateable === false,
  }));
}

const ownerEmails = new Map<string, { at: number; email: string | null }>();
async function resolveOwnerEmail(ctx: ConnectorContext, ownerId: string): Promise<string | null> {
  if (!RECORD_ID.test(ownerId)) return null;
  const key = `${ctx.connectionId}:${ownerId}`;
  const hit = ownerEmails.get(key);
  if (hit && Date.now() - hit.at < 5 * 60_000) return hit.email;
  const rows = await soql(await connect(ctx), `SELECT Id, Email FROM User WHERE Id = ${soqlId(ownerId)}`, 1);
  const email = rows[0]?.Email ? String(rows[0].Email).toLowerCase() : null;
  if (ownerEmails.size > 10_000) ownerEmails.clear();
  ownerEmails.set(key, { at: Date.now(), email });
  return email;
}

async function findOwnerId(ctx: ConnectorContext, email: string): Promise<string | null> {
  const rows = await soql(await connect(ctx), `SELECT Id FROM User WHERE Email = ${soqlString(email)} AND IsActive = true LIMIT 1`, 1);
  return rows[0]?.Id ? String(rows[0].Id) : null;
}

export type { WritebackItem, WritebackResult };

/** The Account fields one Writeback sets; a missing status field is reported with how to add it. */
async function accountFields(ctx: ConnectorContext, described: Map<string, DescribeField>, changes: Writeback, ownerIds: Map<string, Promise<string | null>>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  if (changes.status) {
    const name = String(ctx.settings.status_field ?? DEFAULT_STATUS_FIELD);
    const f = described.get(name.toLowerCase());
    if (!f || f.updateable === false) {
      throw new ConnectorError('permanent', `Salesforce Account has no writable field ${name} for the Pivotal status. In Salesforce Setup → Object Manager → Account → Fields & Relationships, add a Text(32) or Picklist field with API name ${name} (values active, at_risk, churned, archived) and give the integration user edit access, or turn writeback off for this connection.`);
    }
    out[f.name] = changes.status;
  }
  if (changes.ownerEmail) {
    const email = changes.ownerEmail.toLowerCase();
    if (!ownerIds.has(email)) ownerIds.set(email, findOwnerId(ctx, email));
    const id = await ownerIds.get(email)!;
    if (id) out.OwnerId = id;
  }
  if (changes.name) out.Name = changes.name;
  if (changes.plan) {
    const source = mappingOf(ctx).find((m) => m.target === 'plan')?.source;
    const f = source ? described.get(source.toLowerCase()) : undefined;
    if (f && f.updateable !== false) {
      const want = changes.plan.toLowerCase();
      const option = f.picklistValues?.find((p) => p.value.toLowerCase() === want);
      if (f.type !== 'picklist') out[f.name] = changes.plan;
      else if (option) out[f.name] = option.value;
    }
  }
  return out;
}

/**
 * Writes Pivotal-owned changes to many Accounts through sObject collections (200 per
 * call, allOrNone false): one record's refusal does not stop the others, and comes back
 * as that record's error with Salesforce's response.
 */
export async function writebackMany(ctx: ConnectorContext, items: WritebackItem[]): Promise<WritebackResult[]> {
  const conn = await connect(ctx);
  const described = await describe(ctx, conn, 'Account');
  const results: WritebackResult[] = [];
  const rows: Record<string, unknown>[] = [];
  // A batch usually hands many Accounts to a few owners: one User lookup per email.
  const ownerIds = new Map<string, Promise<string | null>>();
  for (const item of items) {
    if (!RECORD_ID.test(item.externalId)) {
      results.push({ externalId: item.externalId, ok: false, error: new ConnectorError('permanent', `"${item.externalId}" is not a Salesforce record id`) });
      continue;
    }
    const fields = await accountFields(ctx, described, item.changes, ownerIds);
    if (Object.keys(fields).length) rows.push({ Id: item.externalId, ...fields });
    else results.push({ externalId: item.externalId, ok: true });
  }
  for (let i = 0; i < rows.length; i += COLLECTION_SIZE) {
    const batch = rows.slice(i, i + COLLECTION_SIZE);
    const saved = await call(conn, 'an sObject collection update', () => conn.sobject('Account').update(batch as { Id: string }[], { allOrNone: false }));
    batch.forEach((row, j) => {
      const r = (saved as { success: boolean; errors?: { statusCode?: string; errorCode?: string; message: string; fields?: string[] }[] }[])[j];
      const id = String(row.Id);
      if (r?.success) results.push({ externalId: id, ok: true });
      else {
        const errs = r?.errors ?? [];
        const message = errs.map((e) => `${e.statusCode ?? e.errorCode ?? 'ERROR'}: ${e.message}`).join('; ') || 'Salesforce did not save the record';
        results.push({ externalId: id, ok: false, error: new ConnectorError('permanent', `Salesforce refused the update of Account ${id}: ${message}`, { status: 400, providerResponse: JSON.stringify(errs).slice(0, 4000) }) });
      }
    });
  }
  return results;
}

async function writeback(ctx: ConnectorContext, externalId: string, changes: Writeback): Promise<{ modifiedAt: Date | null }> {
  const [r] = await writebackMany(ctx, [{ externalId, changes }]);
  if (r && !r.ok) throw r.error!;
  // The engine re-reads the record next, which stores its new stamp and hash.
  return { modifiedAt: null };
}

/**
 * Checks credentials with one call at connect time (the signed-in user's identity) and
 * returns the organization id the connection belongs to.
 */
export async function verifySalesforceCredentials(creds: Credentials, onRefresh?: (next: Pick<Credentials, 'accessToken' | 'instanceUrl'>) => void): Promise<{ orgId: string; username: string | null }> {
  if (!creds.instanceUrl) throw new ConnectorError('permanent', 'A Salesforce instance URL is required (for example https://yourcompany.my.salesforce.com)');
  const conn = await connectWith(creds, onRefresh);
  const info = await call(conn, 'the identity check', () => conn.request<{ organization_id?: string; preferred_username?: string; email?: string }>(`${conn.instanceUrl.replace(/\/+$/, '')}/services/oauth2/userinfo`));
  if (!info?.organization_id) throw new ConnectorError('permanent', 'Salesforce did not say which organization this token belongs to');
  return { orgId: info.organization_id, username: info.preferred_username ?? info.email ?? null };
}

const oauth = {
  authorizeUrl({ state, redirectUri }: { state: string; redirectUri: string }): string {
    const app = connectedApp();
    if (!app) throw new ConnectorError('permanent', 'Salesforce OAuth is not configured (SALESFORCE_CLIENT_ID / SALESFORCE_CLIENT_SECRET)');
    // The web-server flow's consent URL (what jsforce's OAuth2.getAuthorizationUrl builds).
    const u = new URL('/services/oauth2/authorize', `${loginUrl()}/`);
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: app.clientId, redirect_uri: redirectUri, scope: 'api refresh_token', state, prompt: 'login consent' })) u.searchParams.set(k, v);
    return u.toString();
  },
  async exchangeCode({ code, redirectUri }: { code: string; redirectUri: string }): Promise<Credentials> {
    const client = await oauthClient(redirectUri);
    if (!client) throw new ConnectorError('permanent', 'Salesforce OAuth is not configured');
    let t;
    try {
      t = await client.requestToken(code);
    } catch (e) {
      throw new ConnectorError('permanent', `Salesforce refused the authorization code: ${e instanceof Error ? e.message : String(e)}`, { status: 400 });
    }
    return { accessToken: t.access_token, refreshToken: t.refresh_token ?? null, instanceUrl: t.instance_url, accountId: orgIdFromIdentityUrl(t.id) };
  },
  async refresh(credentials: Credentials): Promise<Credentials> {
    const client = await oauthClient();
    if (!credentials.refreshToken || !client) throw new ConnectorError('auth_expired', 'This Salesforce connection cannot refresh its session: reconnect Salesforce');
    try {
      const t = await client.refreshToken(credentials.refreshToken);
      return { ...credentials, accessToken: t.access_token, instanceUrl: t.instance_url ?? credentials.instanceUrl };
    } catch (e) {
      const name = (e as { name?: string })?.name ?? '';
      if (/invalid_grant|invalid_client|inactive/.test(name) || /expired access\/refresh token/.test(String((e as Error)?.message))) {
        throw new ConnectorError('auth_expired', 'Salesforce refused the refresh token: reconnect Salesforce', { status: 400 });
      }
      throw new ConnectorError('temporary', `Salesforce token refresh failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  },
};

export const salesforce: Connector = {
  provider: 'salesforce',
  capabilities: { contacts: true, customFields: true, writeback: ['status', 'ownerEmail', 'plan', 'name'], writebackBatchSize: COLLECTION_SIZE, webhooks: false, pollEveryMinutes: 15 },
  customerObjectType: OBJECT_TYPE.customer,
  oauth,
  defaultMapping: () => [
    { target: 'name', source: 'Name' },
    { target: 'domain', source: 'Website' },
    { target: 'owner', source: 'OwnerId' },
    { target: 'arr', source: 'AnnualRevenue', type: 'number' },
    { target: 'industry', source: 'Industry' },
    { target: 'employee_count', source: 'NumberOfEmployees', type: 'number' },
    { target: 'created_at', source: 'CreatedDate', type: 'date' },
  ],
  checkFilter,
  listProperties,
  pull,
  fetchOne,
  fetchMany,
  resolveOwnerEmail,
  findOwnerId,
  writeback,
  writebackMany,
};

