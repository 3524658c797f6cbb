// Stateful fake of the Salesforce APIs Pivotal uses, for tests and benchmarks, driven
// through the real jsforce client: the OAuth 2.0 web-server flow (authorize, token with
// authorization_code and refresh_token grants, revoke, userinfo), REST query with a SOQL
// subset (test/fakes/salesforce-soql.ts) and nextRecordsUrl paging, describe, composite
// sObject collections (and single-record PATCH), getUpdated/getDeleted, Bulk API 2.0 query
// jobs whose CSV results page by Sforce-Locator, session expiry (401 INVALID_SESSION_ID)
// and the rolling daily API quota (403 REQUEST_LIMIT_EXCEEDED). It answers the way
// Salesforce documents, errors included, so code that sends the wrong thing fails here.
//
// Usage: `const sf = await startFakeSalesforce({ clientId, clientSecret })`,
// `const t = sf.issueToken()`, `sf.seedAccounts(500)`, then
// `new jsforce.Connection({ instanceUrl: sf.url, accessToken: t.accessToken, version: '62.0' })`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import { conditionFields, compareValues, matches, parseSoql, SoqlError, type SoqlQuery } from './salesforce-soql.ts';

export type FieldType = 'id' | 'string' | 'textarea' | 'url' | 'phone' | 'email' | 'picklist' | 'reference' | 'double' | 'currency' | 'int' | 'percent' | 'boolean' | 'date' | 'datetime';

export interface FieldDef {
  name: string;
  label?: string;
  type: FieldType;
  updateable?: boolean;
  filterable?: boolean;
  custom?: boolean;
  picklistValues?: string[];
  /** restricted picklist: other values are refused on write */
  restricted?: boolean;
}

type Rec = Record<string, unknown> & { Id: string };

interface ObjectStore {
  prefix: string;
  fields: Map<string, FieldDef>;
  /** lower-case name → declared name (SOQL field names are case-insensitive) */
  names: Map<string, string>;
  records: Rec[];
  byId: Map<string, Rec>;
  deleted: { id: string; deletedDate: Date }[];
}

export interface FakeSalesforceOptions {
  clientId?: string;
  clientSecret?: string;
  /** newest API version served (older ones down to 31.0 also answer) */
  latestVersion?: string;
  /** REST query batch (nextRecordsUrl page) size when the client sends none */
  restBatchSize?: number;
  /** Bulk 2.0 results page size when the client sends no maxRecords, and the most a page holds */
  bulkPageSize?: number;
  /** rolling 24-hour API request allowance */
  dailyLimit?: number;
  /** access tokens expire after this long */
  sessionTtlMs?: number;
  /** status checks a Bulk 2.0 query job answers InProgress before JobComplete */
  bulkPollsUntilComplete?: number;
  /** benchmarks: added to every API answer, a stand-in for the round trip to a real org */
  latencyMs?: number;
  /** benchmarks: a Bulk 2.0 query job takes this long plus rows ÷ bulkJobRowsPerSec to finish */
  bulkJobBaseMs?: number;
  bulkJobRowsPerSec?: number;
}

interface Session { userId: string; expiresAt: number; refreshToken: string | null }

const ORG_ID = '00D5e000000FAKEEAA';
const BASE_FIELDS: FieldDef[] = [
  { name: 'Id', type: 'id', updateable: false },
  { name: 'CreatedDate', type: 'datetime', updateable: false },
  { name: 'LastModifiedDate', type: 'datetime', updateable: false },
  { name: 'SystemModstamp', type: 'datetime', updateable: false },
  { name: 'IsDeleted', type: 'boolean', updateable: false },
];
const SCHEMA: Record<string, { prefix: string; fields: FieldDef[] }> = {
  Account: {
    prefix: '001',
    fields: [
      { name: 'Name', type: 'string' },
      { name: 'Website', type: 'url' },
      { name: 'OwnerId', type: 'reference' },
      { name: 'AnnualRevenue', type: 'currency' },
      { name: 'Industry', type: 'picklist', picklistValues: ['Agriculture', 'Banking', 'Education', 'Energy', 'Healthcare', 'Manufacturing', 'Retail', 'Technology'] },
      { name: 'NumberOfEmployees', type: 'int' },
      { name: 'Type', type: 'picklist', picklistValues: ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Partner', 'Other'] },
      { name: 'Phone', type: 'phone' },
      { name: 'Description', type: 'textarea' },
      { name: 'LastActivityDate', type: 'date', updateable: false },
    ],
  },
  Contact: {
    prefix: '003',
    fields: [
      { name: 'FirstName', type: 'string' },
      { name: 'LastName', type: 'string' },
      { name: 'Email', type: 'email' },
      { name: 'Title', type: 'string' },
      { name: 'Phone', type: 'phone' },
      { name: 'AccountId', type: 'reference' },
      { name: 'OwnerId', type: 'reference' },
    ],
  },
  User: {
    prefix: '005',
    fields: [
      { name: 'Name', type: 'string' },
      { name: 'Email', type: 'email' },
      { name: 'IsActive', type: 'boolean' },
    ],
  },
};

/** Salesforce's datetime format in JSON: 2024-05-01T10:00:00.000+0000 */
const sfDate = (d: Date) => d.toISOString().replace('Z', '+0000');

function sfError(res: http.ServerResponse, status: number, errorCode: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
  res.end(JSON.stringify([{ message, errorCode }]));
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface FakeSalesforce {
  url: string;
  options: Required<FakeSalesforceOptions>;
  /** every API request served (not OAuth), by path kind */
  stats: { api: number; query: number; queryMore: number; bulkResults: number; composite: number; refusedLocators: number; byPath: Map<string, number> };
  issueToken(opts?: { withRefresh?: boolean; userId?: string }): { accessToken: string; refreshToken: string | null };
  /** the code an admin's consent produces (what /services/oauth2/authorize redirects with) */
  issueCode(redirectUri: string): string;
  expireSessions(): void;
  /**
   * Query locators and Bulk 2.0 query jobs expire, as Salesforce's do (15 minutes idle;
   * job results after 7 days): REST queryMore then answers 400 INVALID_QUERY_LOCATOR and
   * a job's results 404. afterQueryMores: once that many more queryMore calls were served.
   */
  expireLocators(opts?: { afterQueryMores?: number }): void;
  revokeRefreshToken(token: string): void;
  setDailyLimit(limit: number): void;
  resetQuota(): void;
  usage(): number;
  addField(object: string, def: FieldDef): void;
  addUser(email: string, name?: string): string;
  addAccount(fields: Record<string, unknown>, stamp?: Date): string;
  addContact(fields: Record<string, unknown>, stamp?: Date): string;
  seedAccounts(n: number, opts?: { contactsPerAccount?: number; ownerId?: string }): void;
  update(object: string, id: string, fields: Record<string, unknown>, stamp?: Date): void;
  /** deletes a record (to the recycle bin); deletedAt backdates it, as if it happened between polls */
  remove(object: string, id: string, deletedAt?: Date): void;
  record(object: string, id: string): Rec | undefined;
  count(object: string): number;
  close(): Promise<void>;
}

export async function startFakeSalesforce(opts: FakeSalesforceOptions = {}): Promise<FakeSalesforce> {
  const options: Required<FakeSalesforceOptions> = {
    clientId: opts.clientId ?? 'sf-client-id',
    clientSecret: opts.clientSecret ?? 'sf-client-secret',
    latestVersion: opts.latestVersion ?? '62.0',
    restBatchSize: opts.restBatchSize ?? 2000,
    bulkPageSize: opts.bulkPageSize ?? 10_000,
    dailyLimit: opts.dailyLimit ?? Number.MAX_SAFE_INTEGER,
    sessionTtlMs: opts.sessionTtlMs ?? 2 * 3_600_000,
    bulkPollsUntilComplete: opts.bulkPollsUntilComplete ?? 1,
    latencyMs: opts.latencyMs ?? 0,
    bulkJobBaseMs: opts.bulkJobBaseMs ?? 0,
    bulkJobRowsPerSec: opts.bulkJobRowsPerSec ?? Infinity,
  };
  const objects = new Map<string, ObjectStore>();
  for (const [name, s] of Object.entries(SCHEMA)) {
    const fields = new Map<string, FieldDef>();
    const names = new Map<string, string>();
    for (const f of [...BASE_FIELDS, ...s.fields]) {
      fields.set(f.name, { updateable: true, filterable: true, custom: false, ...f });
      names.set(f.name.toLowerCase(), f.name);
    }
    objects.set(name, { prefix: s.prefix, fields, names, records: [], byId: new Map(), deleted: [] });
  }
  const sessions = new Map<string, Session>();
  const refreshTokens = new Map<string, string>(); // refresh token → user id
  const codes = new Map<string, { redirectUri: string; expiresAt: number }>();
  const locators = new Map<string, { ids: string[]; fields: string[]; object: string; touched: number }>();
  const jobs = new Map<string, { object: string; fields: string[]; ids: string[]; polls: number; state: string; created: Date }>();
  let apiCalls: number[] = [];
  let expireLocatorsAfter: number | null = null;
  const expireLocatorsNow = () => {
    locators.clear();
    jobs.clear();
    expireLocatorsAfter = null;
  };
  let seq = 0;
  let defaultUserId = '';
  const stats: FakeSalesforce['stats'] = { api: 0, query: 0, queryMore: 0, bulkResults: 0, composite: 0, refusedLocators: 0, byPath: new Map() };

  const newId = (prefix: string) => `${prefix}${(++seq).toString(36).toUpperCase().padStart(12, '0')}AAA`;
  /** Salesforce stamps have whole-second precision in practice. */
  const stampNow = () => new Date(Math.floor(Date.now() / 1000) * 1000);
  const store = (object: string): ObjectStore | undefined => {
    for (const [k, v] of objects) if (k.toLowerCase() === object.toLowerCase()) return v;
    return undefined;
  };
  const objectName = (object: string) => [...objects.keys()].find((k) => k.toLowerCase() === object.toLowerCase())!;

  function insert(object: string, fields: Record<string, unknown>, stamp = stampNow()): string {
    const s = store(object)!;
    const Id = newId(s.prefix);
    const rec: Rec = { Id, CreatedDate: stamp, LastModifiedDate: stamp, SystemModstamp: stamp, IsDeleted: false };
    for (const [k, v] of Object.entries(fields)) rec[s.names.get(k.toLowerCase()) ?? k] = v;
    s.records.push(rec);
    s.byId.set(Id, rec);
    return Id;
  }

  function tokenOf(req: http.IncomingMessage): Session | 'expired' | null {
    const h = req.headers.authorization ?? '';
    const m = /^(Bearer|OAuth) (.+)$/.exec(h);
    if (!m) return null;
    const s = sessions.get(m[2]!);
    if (!s) return 'expired';
    if (s.expiresAt < Date.now()) return 'expired';
    return s;
  }

  function quotaExceeded(): boolean {
    const dayAgo = Date.now() - 86_400_000;
    apiCalls = apiCalls.filter((t) => t > dayAgo);
    if (apiCalls.length >= options.dailyLimit) return true;
    apiCalls.push(Date.now());
    return false;
  }

  function serialize(object: string, rec: Rec, fields: string[], s: ObjectStore, version: string): Record<string, unknown> {
    const out: Record<string, unknown> = { attributes: { type: object, url: `/services/data/v${version}/sobjects/${object}/${rec.Id}` } };
    for (const f of fields) {
      const name = s.names.get(f.toLowerCase())!;
      const v = rec[name];
      const def = s.fields.get(name)!;
      out[name] = v instanceof Date ? (def.type === 'date' ? v.toISOString().slice(0, 10) : sfDate(v)) : (v ?? null);
    }
    return out;
  }

  function runQuery(q: SoqlQuery): { s: ObjectStore; object: string; ids: string[]; fields: string[] } {
    const s = store(q.object);
    if (!s) throw new SoqlError(`sObject type '${q.object}' is not supported.`);
    const object = objectName(q.object);
    const bad = [...q.fields, ...conditionFields(q.where), ...q.orderBy.map((o) => o.field)].find((f) => !s.names.has(f.toLowerCase()));
    if (bad) throw Object.assign(new SoqlError(`No such column '${bad}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`), { code: 'INVALID_FIELD' });
    const fieldOf = (n: string) => s.names.get(n.toLowerCase())!;
    let rows = s.records.filter((r) => matches(q.where, r, fieldOf));
    if (q.orderBy.length) {
      rows = [...rows].sort((a, b) => {
        for (const o of q.orderBy) {
          const r = compareValues(a[fieldOf(o.field)], b[fieldOf(o.field)]);
          if (r) return o.desc ? -r : r;
        }
        return 0;
      });
    }
    if (q.limit !== null) rows = rows.slice(0, q.limit);
    return { s, object, ids: rows.map((r) => r.Id), fields: q.fields };
  }

  function queryPage(res: http.ServerResponse, version: string, st: { ids: string[]; fields: string[]; object: string }, offset: number, batch: number, locatorId: string): void {
    const s = store(st.object)!;
    const slice = st.ids.slice(offset, offset + batch).map((id) => s.byId.get(id)).filter((r): r is Rec => !!r);
    const done = offset + batch >= st.ids.length;
    const body: Record<string, unknown> = { totalSize: st.ids.length, done, records: slice.map((r) => serialize(st.object, r, st.fields, s, version)) };
    if (!done) body.nextRecordsUrl = `/services/data/v${version}/query/${locatorId}-${offset + batch}`;
    json(res, 200, body);
  }

  function batchSize(req: http.IncomingMessage): number {
    const m = /batchSize=(\d+)/.exec(String(req.headers['sforce-query-options'] ?? ''));
    return m ? Math.max(200, Math.min(2000, Number(m[1]))) : options.restBatchSize;
  }

  async function oauth(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (path === '/services/oauth2/authorize' && req.method === 'GET') {
      const redirect = url.searchParams.get('redirect_uri');
      if (url.searchParams.get('client_id') !== options.clientId || !redirect || url.searchParams.get('response_type') !== 'code') {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('error=invalid_client_id&error_description=client identifier invalid');
        return;
      }
      const back = new URL(redirect);
      back.searchParams.set('code', fake.issueCode(redirect));
      const state = url.searchParams.get('state');
      if (state) back.searchParams.set('state', state);
      res.writeHead(302, { location: back.toString() });
      res.end();
      return;
    }
    if (path === '/services/oauth2/token' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const fail = (status: number, error: string, description: string) => json(res, status, { error, error_description: description });
      if (form.get('client_id') !== options.clientId) return fail(400, 'invalid_client_id', 'client identifier invalid');
      if (form.get('client_secret') !== options.clientSecret) return fail(400, 'invalid_client', 'invalid client credentials');
      const grant = form.get('grant_type');
      let refresh: string | null = null;
      if (grant === 'authorization_code') {
        const c = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        if (!c || c.expiresAt < Date.now()) return fail(400, 'invalid_grant', 'invalid authorization code');
        if (c.redirectUri !== form.get('redirect_uri')) return fail(400, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
        refresh = `5Aep${randomBytes(24).toString('hex')}`;
        refreshTokens.set(refresh, defaultUserId);
      } else if (grant === 'refresh_token') {
        if (!refreshTokens.has(form.get('refresh_token') ?? '')) return fail(400, 'invalid_grant', 'expired access/refresh token');
      } else return fail(400, 'unsupported_grant_type', 'grant type not supported');
      const access = `00D!${randomBytes(24).toString('hex')}`;
      const userId = refresh ? defaultUserId : refreshTokens.get(form.get('refresh_token')!)!;
      sessions.set(access, { userId, expiresAt: Date.now() + options.sessionTtlMs, refreshToken: refresh ?? form.get('refresh_token') });
      json(res, 200, {
        access_token: access,
        ...(refresh ? { refresh_token: refresh } : {}),
        instance_url: fake.url,
        id: `${fake.url}/id/${ORG_ID}/${userId}`,
        token_type: 'Bearer',
        issued_at: String(Date.now()),
        signature: randomBytes(16).toString('base64'),
        scope: 'api refresh_token',
      });
      return;
    }
    if (path === '/services/oauth2/revoke' && req.method === 'POST') {
      const token = new URLSearchParams(await readBody(req)).get('token') ?? '';
      if (refreshTokens.delete(token)) for (const [k, s] of sessions) if (s.refreshToken === token) sessions.delete(k);
      else if (!sessions.delete(token)) return json(res, 400, { error: 'unsupported_token_type', error_description: 'this token type is not supported' });
      res.writeHead(200);
      res.end();
      return;
    }
    if (path === '/services/oauth2/userinfo') {
      const s = tokenOf(req);
      if (!s || s === 'expired') return sfError(res, 403, 'Forbidden', 'Bad_OAuth_Token');
      const u = store('User')!.byId.get(s.userId)!;
      json(res, 200, { user_id: s.userId, organization_id: ORG_ID, email: u.Email, name: u.Name, preferred_username: u.Email });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  async function api(req: http.IncomingMessage, res: http.ServerResponse, url: URL, version: string, rest: string): Promise<void> {
    const s = tokenOf(req);
    if (!s || s === 'expired') return sfError(res, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    if (quotaExceeded()) return sfError(res, 403, 'REQUEST_LIMIT_EXCEEDED', `TotalRequests Limit exceeded.`);
    stats.api++;
    const kind = rest.replace(/\/[0-9A-Za-z]{15,18}(\/|$|-)/g, '/:id$1').replace(/query\/.*/, 'query/:locator');
    stats.byPath.set(kind, (stats.byPath.get(kind) ?? 0) + 1);
    const limitInfo = { 'sforce-limit-info': `api-usage=${apiCalls.length}/${options.dailyLimit}` };
    const method = req.method ?? 'GET';

    if (rest === 'limits' && method === 'GET') return json(res, 200, { DailyApiRequests: { Max: options.dailyLimit, Remaining: Math.max(0, options.dailyLimit - apiCalls.length) } }, limitInfo);
    if (rest === 'query' && method === 'GET') {
      stats.query++;
      const q = url.searchParams.get('q');
      if (!q) return sfError(res, 400, 'MALFORMED_QUERY', 'A query string must be provided');
      let parsed: SoqlQuery;
      try {
        parsed = parseSoql(q);
        const r = runQuery(parsed);
        if (parsed.count) return json(res, 200, { totalSize: r.ids.length, done: true, records: [] }, limitInfo);
        const id = `01g${randomBytes(6).toString('hex')}`;
        locators.set(id, { ids: r.ids, fields: r.fields, object: r.object, touched: Date.now() });
        return queryPage(res, version, { ids: r.ids, fields: r.fields, object: r.object }, 0, batchSize(req), id);
      } catch (e) {
        if (e instanceof SoqlError) return sfError(res, 400, (e as { code?: string }).code ?? 'MALFORMED_QUERY', e.message);
        throw e;
      }
    }
    const more = /^query\/(01g[0-9a-f]+)-(\d+)$/.exec(rest);
    if (more && method === 'GET') {
      stats.queryMore++;
      if (expireLocatorsAfter !== null && expireLocatorsAfter-- <= 0) expireLocatorsNow();
      const st = locators.get(more[1]!);
      if (!st || Date.now() - st.touched > 15 * 60_000) {
        stats.refusedLocators++;
        return sfError(res, 400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
      }
      st.touched = Date.now();
      return queryPage(res, version, st, Number(more[2]), batchSize(req), more[1]!);
    }
    const describe = /^sobjects\/(\w+)\/describe$/.exec(rest);
    if (describe && method === 'GET') {
      const st = store(describe[1]!);
      if (!st) return sfError(res, 404, 'NOT_FOUND', `The requested resource does not exist`);
      return json(res, 200, {
        name: objectName(describe[1]!),
        label: objectName(describe[1]!),
        queryable: true,
        updateable: true,
        fields: [...st.fields.values()].map((f) => ({
          name: f.name,
          label: f.label ?? f.name.replace(/__c$/, '').replace(/([a-z])([A-Z])/g, '$1 $2'),
          type: f.type,
          custom: !!f.custom,
          updateable: f.updateable !== false,
          filterable: f.filterable !== false,
          nillable: f.name !== 'Id',
          restrictedPicklist: !!f.restricted,
          picklistValues: (f.picklistValues ?? []).map((v) => ({ value: v, label: v, active: true, defaultValue: false })),
        })),
      }, limitInfo);
    }
    const replication = /^sobjects\/(\w+)\/(updated|deleted)\/?$/.exec(rest);
    if (replication && method === 'GET') {
      const st = store(replication[1]!);
      if (!st) return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
      const start = new Date(url.searchParams.get('start') ?? '');
      const end = new Date(url.searchParams.get('end') ?? '');
      if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) return sfError(res, 400, 'MALFORMED_QUERY', 'start and end must be valid dateTime values');
      if (start >= end) return sfError(res, 400, 'INVALID_REPLICATION_DATE', 'endDate must chronologically follow the startDate');
      if (start.getTime() < Date.now() - 30 * 86_400_000) return sfError(res, 400, 'INVALID_REPLICATION_DATE', 'startDate cannot be more than 30 days ago');
      // Salesforce truncates both ends to whole minutes.
      const lo = Math.floor(start.getTime() / 60_000) * 60_000;
      const hi = Math.floor(end.getTime() / 60_000) * 60_000;
      const latest = sfDate(new Date(Math.min(hi, Math.floor(Date.now() / 60_000) * 60_000)));
      if (replication[2] === 'updated') {
        const ids = st.records.filter((r) => { const t = (r.SystemModstamp as Date).getTime(); return t >= lo && t < hi; }).map((r) => r.Id);
        return json(res, 200, { ids, latestDateCovered: latest }, limitInfo);
      }
      const rows = st.deleted.filter((d) => d.deletedDate.getTime() >= lo && d.deletedDate.getTime() < hi);
      return json(res, 200, { deletedRecords: rows.map((d) => ({ id: d.id, deletedDate: sfDate(d.deletedDate) })), earliestDateAvailable: sfDate(new Date(Date.now() - 15 * 86_400_000)), latestDateCovered: latest }, limitInfo);
    }
    if (rest === 'composite/sobjects' && method === 'PATCH') {
      stats.composite++;
      const body = JSON.parse(await readBody(req)) as { allOrNone?: boolean; records?: Record<string, unknown>[] };
      if (!Array.isArray(body.records)) return sfError(res, 400, 'JSON_PARSER_ERROR', 'records is required');
      if (body.records.length > 200) return sfError(res, 400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
      return json(res, 200, body.records.map((r) => save(r)), limitInfo);
    }
    const single = /^sobjects\/(\w+)\/(\w{15,18})$/.exec(rest);
    if (single && method === 'PATCH') {
      const result = save({ ...(JSON.parse(await readBody(req)) as object), id: single[2], attributes: { type: single[1] } });
      if (result.success) { res.writeHead(204); res.end(); return; }
      return json(res, 400, result.errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })));
    }
    if (rest === 'jobs/query' && method === 'POST') {
      const body = JSON.parse(await readBody(req)) as { operation?: string; query?: string };
      if (body.operation !== 'query' && body.operation !== 'queryAll') return sfError(res, 400, 'INVALIDJOB', 'operation must be query or queryAll');
      try {
        const parsed = parseSoql(body.query ?? '');
        if (parsed.count) return sfError(res, 400, 'INVALIDJOB', 'COUNT() is not supported in Bulk API 2.0 queries');
        const r = runQuery(parsed);
        const id = `750${randomBytes(6).toString('hex').toUpperCase()}AAA`;
        jobs.set(id, { object: r.object, fields: r.fields, ids: r.ids, polls: 0, state: 'UploadComplete', created: new Date() });
        return json(res, 200, jobInfo(id, version), limitInfo);
      } catch (e) {
        if (e instanceof SoqlError) return sfError(res, 400, (e as { code?: string }).code ?? 'INVALIDJOB', e.message);
        throw e;
      }
    }
    const job = /^jobs\/query\/(750\w+)(\/results)?$/.exec(rest);
    if (job) {
      const j = jobs.get(job[1]!);
      if (!j) {
        stats.refusedLocators++;
        return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
      }
      if (method === 'DELETE' && !job[2]) { jobs.delete(job[1]!); res.writeHead(204); res.end(); return; }
      if (method === 'GET' && !job[2]) {
        const ready = j.created.getTime() + options.bulkJobBaseMs + (j.ids.length / options.bulkJobRowsPerSec) * 1000 <= Date.now();
        if (++j.polls >= options.bulkPollsUntilComplete && ready) j.state = 'JobComplete';
        else j.state = 'InProgress';
        return json(res, 200, jobInfo(job[1]!, version), limitInfo);
      }
      if (method === 'GET' && job[2]) {
        if (j.state !== 'JobComplete') return sfError(res, 400, 'INVALIDJOB', 'Job is not complete');
        stats.bulkResults++;
        // Salesforce may send fewer rows than maxRecords asks for; bulkPageSize is that cap here.
        const max = Math.min(Number(url.searchParams.get('maxRecords') ?? options.bulkPageSize), options.bulkPageSize);
        if (!Number.isInteger(max) || max < 1) return sfError(res, 400, 'INVALIDMAXRECORDS', 'maxRecords must be a positive integer');
        const offset = Number(url.searchParams.get('locator') ? Buffer.from(url.searchParams.get('locator')!, 'base64url').toString() : 0);
        if (!Number.isInteger(offset) || offset < 0 || offset > j.ids.length) return sfError(res, 400, 'INVALIDLOCATOR', 'invalid locator');
        const st = store(j.object)!;
        const rows = j.ids.slice(offset, offset + max).map((id) => st.byId.get(id)).filter((r): r is Rec => !!r);
        const names = j.fields.map((f) => st.names.get(f.toLowerCase())!);
        const csv = stringify([names, ...rows.map((r) => names.map((n) => { const v = r[n]; return v == null ? '' : v instanceof Date ? (st.fields.get(n)!.type === 'date' ? v.toISOString().slice(0, 10) : v.toISOString().replace('Z', '+0000')) : String(v); }))], { quoted_string: true });
        const next = offset + max < j.ids.length ? Buffer.from(String(offset + max)).toString('base64url') : 'null';
        res.writeHead(200, { 'content-type': 'text/csv', 'sforce-locator': next, 'sforce-numberofrecords': String(rows.length), ...limitInfo });
        res.end(csv);
        return;
      }
    }
    sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
  }

  function jobInfo(id: string, version: string) {
    const j = jobs.get(id)!;
    return { id, operation: 'query', object: j.object, createdById: defaultUserId, createdDate: sfDate(j.created), systemModstamp: sfDate(new Date()), state: j.state, concurrencyMode: 'Parallel', contentType: 'CSV', apiVersion: Number(version), lineEnding: 'LF', columnDelimiter: 'COMMA', numberRecordsProcessed: j.state === 'JobComplete' ? j.ids.length : 0, retries: 0, totalProcessingTime: 0 };
  }

  function save(r: Record<string, unknown>): { id: string | null; success: boolean; errors: { statusCode: string; message: string; fields: string[] }[] } {
    const type = String((r.attributes as { type?: string } | undefined)?.type ?? '');
    const id = String(r.id ?? r.Id ?? '');
    const fail = (statusCode: string, message: string, fields: string[] = []) => ({ id: id || null, success: false, errors: [{ statusCode, message, fields }] });
    const st = store(type);
    if (!st) return fail('INVALID_TYPE', `sObject type '${type}' is not supported`);
    const rec = st.byId.get(id);
    if (!rec) return st.deleted.some((d) => d.id === id) ? fail('ENTITY_IS_DELETED', 'entity is deleted') : fail('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    const changes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === 'attributes' || k === 'id' || k === 'Id') continue;
      const name = st.names.get(k.toLowerCase());
      const def = name ? st.fields.get(name) : undefined;
      if (!def) return fail('INVALID_FIELD', `No such column '${k}' on sobject of type ${type}`, [k]);
      if (def.updateable === false) return fail('INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, [name!]);
      if (def.restricted && v != null && !(def.picklistValues ?? []).includes(String(v))) return fail('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${def.label ?? name}: bad value for restricted picklist field: ${String(v)}`, [name!]);
      changes[name!] = v;
    }
    Object.assign(rec, changes);
    const now = stampNow();
    rec.LastModifiedDate = now;
    rec.SystemModstamp = now;
    return { id, success: true, errors: [] };
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = /^\/services\/data\/v(\d+\.\d)\/(.*)$/.exec(url.pathname);
    const handle = async () => {
      if (url.pathname.startsWith('/services/oauth2/')) return oauth(req, res, url);
      if (url.pathname === '/services/data' || url.pathname === '/services/data/') {
        return json(res, 200, [{ version: options.latestVersion, label: 'Fake', url: `/services/data/v${options.latestVersion}` }]);
      }
      if (!m || Number(m[1]) > Number(options.latestVersion) || Number(m[1]) < 31) return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
      if (options.latencyMs > 0) await new Promise((r) => setTimeout(r, options.latencyMs));
      return api(req, res, url, m[1]!, m[2]!.replace(/\/+$/, ''));
    };
    handle().catch((e: unknown) => {
      if (!res.headersSent) sfError(res, 500, 'UNKNOWN_EXCEPTION', e instanceof Error ? e.message : String(e));
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  defaultUserId = insert('User', { Name: 'Integration User', Email: 'integration@example.com', IsActive: true });

  const fake: FakeSalesforce = {
    url,
    options,
    stats,
    issueToken({ withRefresh = true, userId } = {}) {
      const accessToken = `00D!${randomBytes(24).toString('hex')}`;
      const refreshToken = withRefresh ? `5Aep${randomBytes(24).toString('hex')}` : null;
      if (refreshToken) refreshTokens.set(refreshToken, userId ?? defaultUserId);
      sessions.set(accessToken, { userId: userId ?? defaultUserId, expiresAt: Date.now() + options.sessionTtlMs, refreshToken });
      return { accessToken, refreshToken };
    },
    issueCode(redirectUri) {
      const code = `aPrx${randomBytes(16).toString('hex')}`;
      codes.set(code, { redirectUri, expiresAt: Date.now() + 15 * 60_000 });
      return code;
    },
    expireSessions: () => sessions.clear(),
    expireLocators({ afterQueryMores } = {}) {
      if (afterQueryMores) expireLocatorsAfter = afterQueryMores;
      else expireLocatorsNow();
    },
    revokeRefreshToken(token) {
      refreshTokens.delete(token);
      for (const [k, s] of sessions) if (s.refreshToken === token) sessions.delete(k);
    },
    setDailyLimit(limit) { options.dailyLimit = limit; },
    resetQuota() { apiCalls = []; },
    usage: () => apiCalls.length,
    addField(object, def) {
      const st = store(object)!;
      st.fields.set(def.name, { updateable: true, filterable: true, custom: def.name.endsWith('__c'), ...def });
      st.names.set(def.name.toLowerCase(), def.name);
    },
    addUser: (email, name = email) => insert('User', { Email: email, Name: name, IsActive: true }),
    addAccount: (fields, stamp) => insert('Account', fields, stamp),
    addContact: (fields, stamp) => insert('Contact', fields, stamp),
    seedAccounts(n, { contactsPerAccount = 0, ownerId } = {}) {
      const industries = SCHEMA.Account!.fields.find((f) => f.name === 'Industry')!.picklistValues!;
      for (let i = 0; i < n; i++) {
        const k = store('Account')!.records.length + 1;
        const acc = insert('Account', { Name: `Account ${k}`, Website: `https://www.account${k}.example.com/`, OwnerId: ownerId ?? defaultUserId, AnnualRevenue: 10_000 * (k % 50), Industry: industries[k % industries.length], NumberOfEmployees: k % 500, Type: 'Customer - Direct' });
        for (let c = 0; c < contactsPerAccount; c++) insert('Contact', { FirstName: `First${c}`, LastName: `Last ${k}`, Email: `person${c}@account${k}.example.com`, Title: 'Buyer', AccountId: acc });
      }
    },
    update(object, id, fields, stamp) {
      const st = store(object)!;
      const rec = st.byId.get(id)!;
      for (const [k, v] of Object.entries(fields)) rec[st.names.get(k.toLowerCase()) ?? k] = v;
      rec.SystemModstamp = stamp ?? stampNow();
      rec.LastModifiedDate = rec.SystemModstamp;
    },
    remove(object, id, deletedAt = new Date()) {
      const st = store(object)!;
      st.records = st.records.filter((r) => r.Id !== id);
      st.byId.delete(id);
      st.deleted.push({ id, deletedDate: deletedAt });
    },
    record: (object, id) => store(object)?.byId.get(id),
    count: (object) => store(object)?.records.length ?? 0,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  return fake;
}
