// Stateful fake of the HubSpot API (CRM v3/v4 objects, search, properties, owners, lists,
// OAuth, rate limits, webhooks) for tests and benchmarks. It is driven through the real
// @hubspot/api-client SDK (`new Client({ accessToken, basePath: fake.url })`), so it checks
// inputs the way HubSpot does and answers with HubSpot's status codes and error bodies:
// a fake that accepted anything would let bugs through.
//
// Storage is in-memory arrays + maps so that seeding 50k companies / 100k contacts and
// paging through them stays fast: list pagination is a binary search on the id; only search
// and look-ups by a non-id `idProperty` scan.
//
// Usage: `const fake = await startFakeHubspot(); fake.addPrivateAppToken('pat'); fake.seedCompanies(500);`
// then `new Client({ accessToken: 'pat', basePath: fake.url })`. State mutators (createCompany,
// associate, ...) return the webhook events a portal would emit; deliverWebhooks() posts them signed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { z } from 'zod';

// ---------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------

export type ObjectType = 'companies' | 'contacts';

export type PropertyValueInput = string | number | boolean | Date | null | undefined;
export type PropertyInput = Record<string, PropertyValueInput>;

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone_number';
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  displayOrder: number;
  calculated: boolean;
  externalOptions: boolean;
  hasUniqueValue: boolean;
  hidden: boolean;
  hubspotDefined: boolean;
  formField: boolean;
  readOnlyValue: boolean;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

/** The JSON a record is served as (SimplePublicObject). */
export interface PublicRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export interface Owner {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  userId: number;
  userIdIncludingInactive: number;
  type: 'PERSON';
  teams: { id: string; name: string; primary: boolean }[];
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export type WebhookSubscriptionType =
  | 'company.creation'
  | 'company.deletion'
  | 'company.propertyChange'
  | 'company.associationChange'
  | 'contact.creation'
  | 'contact.deletion'
  | 'contact.propertyChange'
  | 'contact.associationChange';

/** One event in a webhook batch, shaped like the Webhooks API v3 payload. */
export interface WebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: WebhookSubscriptionType;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  changeFlag?: string; // 'CREATED' | 'DELETED' (HubSpot's docs examples also show 'NEW')
  propertyName?: string;
  propertyValue?: string;
  sourceId?: string;
  associationType?: 'COMPANY_TO_CONTACT' | 'CONTACT_TO_COMPANY';
  fromObjectId?: number;
  toObjectId?: number;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
}

/** What a mutator returns: the record as the API would serve it, plus the events a portal emits. */
export type Mutation = PublicRecord & { events: WebhookEvent[] };

export interface RequestLogEntry {
  method: string;
  path: string;
  query: string;
  status: number;
  at: number;
}

export interface FakeHubspotOptions {
  /** General per-token rolling window (HubSpot's is e.g. 100 or 190 per 10 s). Default: none. */
  rateLimit?: { requests: number; windowMs: number };
  /** Search endpoints' own per-token limit per second. Default 5; 0 or Infinity disables it. */
  searchRateLimitPerSec?: number;
  /** OAuth access-token lifetime. Default 30 min, like HubSpot. */
  accessTokenTtlMs?: number;
  clientId?: string;
  clientSecret?: string;
  portalId?: number;
  appId?: number;
  /** Max `limit` of the list endpoint (GET /crm/v3/objects/{type}). Default 100. */
  pageSizeMax?: number;
  /** Clock, so tests can move time (token expiry, rate windows) without sleeping. */
  now?: () => number;
}

export interface SeedOptions {
  /** createdate of the first record (ms or Date). Default: now - n * stepMs. */
  startAt?: number | Date;
  /** Gap between consecutive records' createdate. Default 60 s. */
  stepMs?: number;
}

export interface SeedContactsOptions extends SeedOptions {
  /** Company to associate contact i with (first association becomes the primary one). */
  companyId?: (i: number, contactId: string) => string | undefined;
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

interface StoredRecord {
  num: number;
  id: string;
  properties: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt: number | null;
}

interface ObjectStore {
  type: ObjectType;
  singular: 'company' | 'contact';
  upper: 'COMPANY' | 'CONTACT';
  objectTypeId: '0-2' | '0-1';
  // Sorted by num ascending because ids are handed out increasingly; never shrinks
  // (deletes archive), which lets the list cursor be a binary search.
  records: StoredRecord[];
  byId: Map<string, StoredRecord>;
  nextNum: number;
  props: Map<string, PropertyDefinition>;
  defaultProps: string[];
  queryProps: string[];
}

interface AccessToken {
  token: string;
  kind: 'private' | 'oauth';
  scopes: string[];
  expiresAt: number;
  refreshToken?: string;
  user: string;
  userId: number;
}

interface RefreshToken {
  token: string;
  revoked: boolean;
  scopes: string[];
  user: string;
  userId: number;
}

interface AuthCode {
  redirectUri?: string;
  scopes: string[];
  user: string;
  used: boolean;
}

interface ListState {
  listId: string;
  name: string;
  objectTypeId: string;
  members: { recordId: string; at: number }[];
  createdAt: number;
  updatedAt: number;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A HubSpot-shaped error: thrown by handlers, turned into a JSON response by the dispatcher. */
class HubspotError extends Error {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  constructor(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) {
    super(String(body.message ?? status));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function apiError(status: number, category: string, message: string, extra: Record<string, unknown> = {}): HubspotError {
  return new HubspotError(status, { status: 'error', message, correlationId: randomUUID(), category, ...extra });
}

const validationError = (message: string, extra: Record<string, unknown> = {}) =>
  apiError(400, 'VALIDATION_ERROR', message, extra);

/** Per-key rolling window of request timestamps. Rejected requests do not count. */
class RollingWindow {
  max: number;
  windowMs: number;
  hits = new Map<string, number[]>();
  constructor(max: number, windowMs: number) {
    this.max = max;
    this.windowMs = windowMs;
  }
  take(key: string, now: number): { ok: boolean; remaining: number; retryAfterMs: number } {
    let list = this.hits.get(key);
    if (!list) {
      list = [];
      this.hits.set(key, list);
    }
    let drop = 0;
    while (drop < list.length && (list[drop] as number) <= now - this.windowMs) drop++;
    if (drop) list.splice(0, drop);
    if (list.length >= this.max) {
      return { ok: false, remaining: 0, retryAfterMs: (list[0] as number) + this.windowMs - now };
    }
    list.push(now);
    return { ok: true, remaining: this.max - list.length, retryAfterMs: 0 };
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const SUBSCRIPTION_IDS: Record<WebhookSubscriptionType, number> = {
  'company.creation': 3_100_001,
  'company.deletion': 3_100_002,
  'company.propertyChange': 3_100_003,
  'company.associationChange': 3_100_004,
  'contact.creation': 3_100_011,
  'contact.deletion': 3_100_012,
  'contact.propertyChange': 3_100_013,
  'contact.associationChange': 3_100_014,
};

// HubSpot-defined association type ids (company<->contact): primary and unlabeled.
const ASSOC = {
  companyToContactPrimary: 2,
  companyToContact: 280,
  contactToCompanyPrimary: 1,
  contactToCompany: 279,
} as const;

const ALL_SCOPES = [
  'oauth',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.owners.read',
  'crm.schemas.companies.read',
  'crm.schemas.companies.write',
  'crm.schemas.contacts.read',
  'crm.schemas.contacts.write',
  'crm.lists.read',
];

// ---------------------------------------------------------------------------------------
// Default property definitions (a realistic subset of a portal's company/contact schema)
// ---------------------------------------------------------------------------------------

function opts(pairs: [string, string][]): PropertyOption[] {
  return pairs.map(([value, label], i) => ({ label, value, displayOrder: i, hidden: false }));
}

const LIFECYCLE = opts([
  ['subscriber', 'Subscriber'],
  ['lead', 'Lead'],
  ['marketingqualifiedlead', 'Marketing Qualified Lead'],
  ['salesqualifiedlead', 'Sales Qualified Lead'],
  ['opportunity', 'Opportunity'],
  ['customer', 'Customer'],
  ['evangelist', 'Evangelist'],
  ['other', 'Other'],
]);

type PropSpec = Partial<PropertyDefinition> & Pick<PropertyDefinition, 'name' | 'label' | 'type' | 'fieldType'>;

function makeProp(spec: PropSpec, order: number, at: number): PropertyDefinition {
  return {
    groupName: spec.groupName ?? 'companyinformation',
    description: '',
    options: [],
    displayOrder: order,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: false,
    hidden: false,
    hubspotDefined: true,
    formField: false,
    readOnlyValue: false,
    createdAt: iso(at),
    updatedAt: iso(at),
    archived: false,
    ...spec,
  };
}

function companyProps(at: number): Map<string, PropertyDefinition> {
  const specs: PropSpec[] = [
    { name: 'name', label: 'Name', type: 'string', fieldType: 'text', formField: true },
    { name: 'domain', label: 'Company Domain Name', type: 'string', fieldType: 'text', formField: true },
    { name: 'website', label: 'Website URL', type: 'string', fieldType: 'text' },
    { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber' },
    { name: 'city', label: 'City', type: 'string', fieldType: 'text' },
    { name: 'country', label: 'Country/Region', type: 'string', fieldType: 'text' },
    { name: 'description', label: 'Description', type: 'string', fieldType: 'textarea' },
    { name: 'hubspot_owner_id', label: 'Company owner', type: 'enumeration', fieldType: 'select', externalOptions: true },
    {
      name: 'industry',
      label: 'Industry',
      type: 'enumeration',
      fieldType: 'select',
      options: opts([
        ['COMPUTER_SOFTWARE', 'Computer Software'],
        ['INFORMATION_TECHNOLOGY_AND_SERVICES', 'Information Technology and Services'],
        ['FINANCIAL_SERVICES', 'Financial Services'],
        ['HOSPITAL_HEALTH_CARE', 'Hospital & Health Care'],
        ['RETAIL', 'Retail'],
        ['MARKETING_AND_ADVERTISING', 'Marketing and Advertising'],
      ]),
    },
    {
      name: 'type',
      label: 'Type',
      type: 'enumeration',
      fieldType: 'select',
      options: opts([
        ['PROSPECT', 'Prospect'],
        ['PARTNER', 'Partner'],
        ['RESELLER', 'Reseller'],
        ['VENDOR', 'Vendor'],
        ['OTHER', 'Other'],
      ]),
    },
    {
      name: 'tier',
      label: 'Tier',
      type: 'enumeration',
      fieldType: 'select',
      hubspotDefined: false,
      description: 'Custom: account tier',
      options: opts([
        ['tier_1', 'Tier 1'],
        ['tier_2', 'Tier 2'],
        ['tier_3', 'Tier 3'],
      ]),
    },
    { name: 'annualrevenue', label: 'Annual Revenue', type: 'number', fieldType: 'number' },
    { name: 'numberofemployees', label: 'Number of Employees', type: 'number', fieldType: 'number' },
    { name: 'lifecyclestage', label: 'Lifecycle Stage', type: 'enumeration', fieldType: 'radio', options: LIFECYCLE },
    { name: 'createdate', label: 'Create Date', type: 'datetime', fieldType: 'date' },
    { name: 'hs_lastmodifieddate', label: 'Last Modified Date', type: 'datetime', fieldType: 'date', readOnlyValue: true, calculated: false },
    { name: 'hs_object_id', label: 'Record ID', type: 'number', fieldType: 'number', readOnlyValue: true, hasUniqueValue: true },
    { name: 'notes_last_updated', label: 'Last Activity Date', type: 'datetime', fieldType: 'date', readOnlyValue: true },
    { name: 'hs_last_activity_date', label: 'Last Activity Date', type: 'datetime', fieldType: 'date', readOnlyValue: true },
    { name: 'num_associated_contacts', label: 'Number of Associated Contacts', type: 'number', fieldType: 'number', readOnlyValue: true, calculated: true },
  ];
  return new Map(specs.map((s, i) => [s.name, makeProp(s, i, at)]));
}

function contactProps(at: number): Map<string, PropertyDefinition> {
  const g = 'contactinformation';
  const specs: PropSpec[] = [
    { name: 'email', label: 'Email', type: 'string', fieldType: 'text', groupName: g, hasUniqueValue: true, formField: true },
    { name: 'firstname', label: 'First Name', type: 'string', fieldType: 'text', groupName: g, formField: true },
    { name: 'lastname', label: 'Last Name', type: 'string', fieldType: 'text', groupName: g, formField: true },
    { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber', groupName: g },
    { name: 'jobtitle', label: 'Job Title', type: 'string', fieldType: 'text', groupName: g },
    { name: 'company', label: 'Company Name', type: 'string', fieldType: 'text', groupName: g },
    { name: 'hubspot_owner_id', label: 'Contact owner', type: 'enumeration', fieldType: 'select', groupName: g, externalOptions: true },
    { name: 'lifecyclestage', label: 'Lifecycle Stage', type: 'enumeration', fieldType: 'radio', groupName: g, options: LIFECYCLE },
    { name: 'associatedcompanyid', label: 'Primary Associated Company ID', type: 'number', fieldType: 'number', groupName: g, readOnlyValue: true },
    { name: 'createdate', label: 'Create Date', type: 'datetime', fieldType: 'date', groupName: g },
    // Contacts' canonical "last modified" is `lastmodifieddate`; hs_lastmodifieddate is kept in step.
    { name: 'lastmodifieddate', label: 'Last Modified Date', type: 'datetime', fieldType: 'date', groupName: g, readOnlyValue: true },
    { name: 'hs_lastmodifieddate', label: 'Object last modified date/time', type: 'datetime', fieldType: 'date', groupName: g, readOnlyValue: true },
    { name: 'hs_object_id', label: 'Record ID', type: 'number', fieldType: 'number', groupName: g, readOnlyValue: true, hasUniqueValue: true },
    { name: 'notes_last_updated', label: 'Last Activity Date', type: 'datetime', fieldType: 'date', groupName: g, readOnlyValue: true },
    { name: 'hs_last_activity_date', label: 'Last Activity Date', type: 'datetime', fieldType: 'date', groupName: g, readOnlyValue: true },
  ];
  return new Map(specs.map((s, i) => [s.name, makeProp(s, i, at)]));
}

// ---------------------------------------------------------------------------------------
// Request body schemas (zod); failures become HubSpot VALIDATION_ERROR bodies
// ---------------------------------------------------------------------------------------

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const OPERATORS = [
  'EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN',
  'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN',
] as const;
type Operator = (typeof OPERATORS)[number];

const FilterSchema = z.object({
  propertyName: z.string().min(1),
  operator: z.enum(OPERATORS),
  value: scalar.optional(),
  highValue: scalar.optional(),
  values: z.array(scalar).optional(),
});
type Filter = z.infer<typeof FilterSchema>;

const SearchSchema = z.object({
  filterGroups: z.array(z.object({ filters: z.array(FilterSchema) })).optional(),
  // The SDK types sorts as string[]; the REST API documents objects. Accept both.
  sorts: z
    .array(
      z.union([
        z.string(),
        z.object({ propertyName: z.string(), direction: z.enum(['ASCENDING', 'DESCENDING']).optional() }),
      ]),
    )
    .optional(),
  query: z.string().optional(),
  properties: z.array(z.string()).optional(),
  limit: z.number().int().optional(),
  after: z.union([z.string(), z.number()]).optional(),
});

const BatchReadSchema = z.object({
  inputs: z.array(z.object({ id: z.union([z.string(), z.number()]) })),
  properties: z.array(z.string()).optional(),
  propertiesWithHistory: z.array(z.string()).optional(),
  idProperty: z.string().optional(),
});

const ObjectInputSchema = z.object({
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  associations: z.array(z.unknown()).optional(),
});

const AssocBatchSchema = z.object({
  inputs: z.array(z.object({ id: z.union([z.string(), z.number()]), after: z.string().optional() })),
});

const PropertyCreateSchema = z.object({
  name: z.string(),
  label: z.string(),
  type: z.enum(['string', 'number', 'date', 'datetime', 'enumeration', 'bool', 'phone_number']),
  fieldType: z.enum([
    'textarea', 'text', 'date', 'file', 'number', 'select', 'radio', 'checkbox',
    'booleancheckbox', 'calculation_equation', 'html', 'phonenumber',
  ]),
  groupName: z.string(),
  description: z.string().optional(),
  options: z
    .array(
      z.object({
        label: z.string(),
        value: z.string(),
        displayOrder: z.number().optional(),
        hidden: z.boolean().optional(),
        description: z.string().optional(),
      }),
    )
    .optional(),
  displayOrder: z.number().optional(),
  hasUniqueValue: z.boolean().optional(),
  hidden: z.boolean().optional(),
  formField: z.boolean().optional(),
  externalOptions: z.boolean().optional(),
  calculationFormula: z.string().optional(),
  referencedObjectType: z.string().optional(),
});

function parseBody<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw validationError(`Invalid input JSON: ${issues.join('; ')}`, {
    errors: r.error.issues.map((i) => ({ message: i.message, code: 'INVALID_INPUT', in: i.path.join('.') })),
  });
}

// ---------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------

export class FakeHubspot {
  url = '';
  readonly portalId: number;
  readonly appId: number;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every request, in order. Cleared by resetRequestLog(). */
  readonly requests: RequestLogEntry[] = [];
  /** Events emitted by mutations (API writes and mutators) not yet taken by takeWebhookEvents(). */
  readonly webhookOutbox: WebhookEvent[] = [];

  private server: http.Server;
  private readonly now: () => number;
  private readonly accessTokenTtlMs: number;
  private readonly pageSizeMax: number;
  private readonly limiter: RollingWindow | null;
  private readonly searchLimiter: RollingWindow | null;
  private readonly stores: Record<ObjectType, ObjectStore>;
  private readonly companyContacts = new Map<string, Set<string>>();
  private readonly contactCompanies = new Map<string, Set<string>>();
  private readonly primaryCompany = new Map<string, string>();
  private readonly tokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly authCodes = new Map<string, AuthCode>();
  private readonly owners: Owner[] = [];
  private readonly lists = new Map<string, ListState>();
  private readonly failures: { status: number; pathPrefix?: string }[] = [];
  private nextOwnerId = 70_000_001;
  private nextListId = 101;
  private nextEventId = 1_000_000_001;

  constructor(server: http.Server, options: FakeHubspotOptions = {}) {
    this.server = server;
    this.now = options.now ?? Date.now;
    this.portalId = options.portalId ?? 4_242_424;
    this.appId = options.appId ?? 1_234_567;
    this.clientId = options.clientId ?? 'fake-client-id';
    this.clientSecret = options.clientSecret ?? 'fake-client-secret';
    this.accessTokenTtlMs = options.accessTokenTtlMs ?? 30 * 60_000;
    this.pageSizeMax = options.pageSizeMax ?? 100;
    this.limiter = options.rateLimit ? new RollingWindow(options.rateLimit.requests, options.rateLimit.windowMs) : null;
    const perSec = options.searchRateLimitPerSec ?? 5;
    this.searchLimiter = perSec > 0 && Number.isFinite(perSec) ? new RollingWindow(perSec, 1000) : null;
    const at = this.now() - 365 * 86_400_000;
    // Distinct id ranges per type so that mixing up a company id with a contact id 404s.
    this.stores = {
      companies: {
        type: 'companies', singular: 'company', upper: 'COMPANY', objectTypeId: '0-2',
        records: [], byId: new Map(), nextNum: 10_000_000_001, props: companyProps(at),
        defaultProps: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
        queryProps: ['name', 'domain', 'website', 'phone'],
      },
      contacts: {
        type: 'contacts', singular: 'contact', upper: 'CONTACT', objectTypeId: '0-1',
        records: [], byId: new Map(), nextNum: 60_000_001, props: contactProps(at),
        defaultProps: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
        queryProps: ['email', 'firstname', 'lastname', 'phone', 'company'],
      },
    };
  }

  // ----- lifecycle & introspection -------------------------------------------------------

  async close(): Promise<void> {
    // fetch (undici) keeps sockets alive; without this close() would wait for them to idle out.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Number of logged requests whose path starts with pathPrefix (all when omitted). */
  countRequests(pathPrefix?: string, method?: string): number {
    let n = 0;
    for (const r of this.requests) {
      if ((!pathPrefix || r.path.startsWith(pathPrefix)) && (!method || r.method === method)) n++;
    }
    return n;
  }

  resetRequestLog(): void {
    this.requests.length = 0;
  }

  /** The next n requests (optionally only those under pathPrefix) fail with `status`. */
  failNext(n: number, status = 500, pathPrefix?: string): void {
    for (let i = 0; i < n; i++) this.failures.push({ status, pathPrefix });
  }

  // ----- auth -------------------------------------------------------------------------------

  /** Registers a private-app token (never expires). Scopes default to everything the fake serves. */
  addPrivateAppToken(token: string, scopes: string[] = ALL_SCOPES): void {
    this.tokens.set(token, { token, kind: 'private', scopes, expiresAt: Infinity, user: 'private-app', userId: 0 });
  }

  /** An authorization code as HubSpot would hand to the redirect URI after consent. Single use. */
  issueAuthCode(opts: { redirectUri?: string; scopes?: string[]; user?: string } = {}): string {
    const code = randomUUID();
    this.authCodes.set(code, {
      redirectUri: opts.redirectUri,
      scopes: opts.scopes ?? ALL_SCOPES,
      user: opts.user ?? 'admin@example.com',
      used: false,
    });
    return code;
  }

  /** Every OAuth access token issued so far is now expired (private-app tokens are unaffected). */
  expireAllTokens(): void {
    const past = this.now() - 1;
    for (const t of this.tokens.values()) if (t.kind === 'oauth') t.expiresAt = past;
  }

  /** Like an app uninstall: refresh tokens stop working (refresh -> 400 BAD_REFRESH_TOKEN). */
  revokeRefreshTokens(): void {
    for (const r of this.refreshTokens.values()) r.revoked = true;
    for (const t of this.tokens.values()) if (t.kind === 'oauth') t.expiresAt = this.now() - 1;
  }

  // ----- state: records ---------------------------------------------------------------------

  createCompany(props: PropertyInput = {}): Mutation {
    return this.createRecord('companies', props, 'CRM_UI');
  }
  updateCompany(id: string, props: PropertyInput): Mutation {
    return this.updateRecord('companies', id, props, 'CRM_UI');
  }
  deleteCompany(id: string): Mutation {
    return this.archiveRecord('companies', id, 'CRM_UI');
  }
  createContact(props: PropertyInput = {}): Mutation {
    return this.createRecord('contacts', props, 'CRM_UI');
  }
  updateContact(id: string, props: PropertyInput): Mutation {
    return this.updateRecord('contacts', id, props, 'CRM_UI');
  }
  deleteContact(id: string): Mutation {
    return this.archiveRecord('contacts', id, 'CRM_UI');
  }

  /** Snapshot of a record with all its properties (archived ones included), or undefined. */
  getRecord(type: ObjectType, id: string): PublicRecord | undefined {
    const r = this.stores[type].byId.get(id);
    return r ? this.serialize(this.stores[type], r, null) : undefined;
  }

  /** Live (non-archived) record count. */
  countRecords(type: ObjectType): number {
    let n = 0;
    for (const r of this.stores[type].records) if (!r.archived) n++;
    return n;
  }

  /**
   * Bulk-creates n companies without emitting webhooks (setup data predates the test).
   * makeProps may set createdate / hs_lastmodifieddate to place records in time.
   */
  seedCompanies(n: number, makeProps?: (i: number) => PropertyInput, opts: SeedOptions = {}): string[] {
    return this.seed('companies', n, makeProps, opts);
  }

  seedContacts(n: number, makeProps?: (i: number) => PropertyInput, opts: SeedContactsOptions = {}): string[] {
    const ids = this.seed('contacts', n, makeProps, opts);
    if (opts.companyId) {
      for (let i = 0; i < ids.length; i++) {
        const contactId = ids[i] as string;
        const companyId = opts.companyId(i, contactId);
        if (companyId !== undefined) this.link(companyId, contactId, false);
      }
    }
    return ids;
  }

  /** Associates company and contact (the contact's first company becomes its primary). */
  associate(companyId: string, contactId: string): WebhookEvent[] {
    return this.link(companyId, contactId, true);
  }

  /** Removes a company<->contact association. */
  dissociate(companyId: string, contactId: string): WebhookEvent[] {
    const company = this.mustGet('companies', companyId);
    const contact = this.mustGet('contacts', contactId);
    const set = this.companyContacts.get(companyId);
    if (!set?.has(contactId)) return [];
    set.delete(contactId);
    this.contactCompanies.get(contactId)?.delete(companyId);
    const wasPrimary = this.primaryCompany.get(contactId) === companyId;
    const now = this.now();
    if (wasPrimary) {
      this.primaryCompany.delete(contactId);
      const next = this.contactCompanies.get(contactId)?.values().next().value;
      if (next !== undefined) this.primaryCompany.set(contactId, next);
      this.setSystem(this.stores.contacts, contact, { associatedcompanyid: next ?? '' }, now);
    }
    this.setSystem(this.stores.companies, company, { num_associated_contacts: String(set.size) }, now);
    return this.assocEvents(company, contact, true, wasPrimary, now);
  }

  // ----- state: owners & lists ----------------------------------------------------------------

  addOwner(o: { email: string; firstName?: string; lastName?: string; userId?: number; archived?: boolean }): Owner {
    const at = iso(this.now());
    const id = String(this.nextOwnerId++);
    const userId = o.userId ?? 9_000_000 + this.owners.length + 1;
    const owner: Owner = {
      id,
      email: o.email,
      firstName: o.firstName ?? '',
      lastName: o.lastName ?? '',
      userId,
      userIdIncludingInactive: userId,
      type: 'PERSON',
      teams: [],
      createdAt: at,
      updatedAt: at,
      archived: o.archived ?? false,
    };
    this.owners.push(owner);
    return owner;
  }

  /** A static (MANUAL) company list; returns its listId. */
  createList(name: string, companyIds: string[], objectTypeId: '0-2' | '0-1' = '0-2'): string {
    const listId = String(this.nextListId++);
    const now = this.now();
    const list: ListState = { listId, name, objectTypeId, members: [], createdAt: now, updatedAt: now };
    this.lists.set(listId, list);
    this.addToList(listId, companyIds);
    return listId;
  }

  addToList(listId: string, recordIds: string[]): void {
    const list = this.lists.get(listId);
    if (!list) throw new Error(`fake-hubspot: no list ${listId}`);
    const type: ObjectType = list.objectTypeId === '0-2' ? 'companies' : 'contacts';
    const present = new Set(list.members.map((m) => m.recordId));
    const now = this.now();
    for (const id of recordIds) {
      this.mustGet(type, id);
      if (!present.has(id)) list.members.push({ recordId: id, at: now });
      present.add(id);
    }
    list.updatedAt = now;
  }

  removeFromList(listId: string, recordIds: string[]): void {
    const list = this.lists.get(listId);
    if (!list) throw new Error(`fake-hubspot: no list ${listId}`);
    const drop = new Set(recordIds);
    list.members = list.members.filter((m) => !drop.has(m.recordId));
    list.updatedAt = this.now();
  }

  // ----- property schema ---------------------------------------------------------------------

  defineProperty(type: ObjectType, spec: PropSpec): PropertyDefinition {
    const store = this.stores[type];
    const def = makeProp({ hubspotDefined: false, ...spec }, store.props.size, this.now());
    store.props.set(def.name, def);
    return def;
  }

  getPropertyDefinition(type: ObjectType, name: string): PropertyDefinition | undefined {
    return this.stores[type].props.get(name);
  }

  // ----- webhooks ----------------------------------------------------------------------------

  /** Drains the outbox of events emitted so far (API writes and mutators alike). */
  takeWebhookEvents(): WebhookEvent[] {
    return this.webhookOutbox.splice(0, this.webhookOutbox.length);
  }

  /**
   * HubSpot's v3 request signature: base64(HMAC-SHA256(secret, method + uri + body + timestamp)),
   * timestamp in ms. `url` must be the exact URI HubSpot calls (the subscription's target URL).
   */
  signWebhook(args: { url: string; method?: string; body: string; secret?: string; timestamp?: number }): {
    'X-HubSpot-Signature-v3': string;
    'X-HubSpot-Request-Timestamp': string;
  } {
    const timestamp = args.timestamp ?? this.now();
    const method = (args.method ?? 'POST').toUpperCase();
    const secret = args.secret ?? this.clientSecret;
    const signature = createHmac('sha256', secret)
      .update(`${method}${args.url}${args.body}${timestamp}`, 'utf8')
      .digest('base64');
    return { 'X-HubSpot-Signature-v3': signature, 'X-HubSpot-Request-Timestamp': String(timestamp) };
  }

  /**
   * POSTs events to targetUrl as HubSpot does: JSON array, at most 100 per request, signed with
   * v3 (and the legacy v1 header the webhooks API still sends). Returns the HTTP status (of the
   * first failing batch, else of the last one); 0 when `events` is empty (nothing is sent).
   * A non-2xx or a timeout would make HubSpot retry; fetch errors/timeouts reject.
   */
  async deliverWebhooks(
    targetUrl: string,
    events: WebhookEvent[],
    opts: { secret?: string; timestamp?: number; timeoutMs?: number } = {},
  ): Promise<number> {
    const secret = opts.secret ?? this.clientSecret;
    let last = 0;
    for (let i = 0; i < events.length; i += 100) {
      const body = JSON.stringify(events.slice(i, i + 100));
      const v3 = this.signWebhook({ url: targetUrl, method: 'POST', body, secret, timestamp: opts.timestamp });
      const res = await fetch(targetUrl, {
        method: 'POST',
        body,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/) (namespace: webhooks-nonretryable)',
          ...v3,
          'X-HubSpot-Signature': createHash('sha256').update(secret + body, 'utf8').digest('hex'),
          'X-HubSpot-Signature-Version': 'v1',
        },
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
      });
      await res.arrayBuffer();
      if (res.status < 200 || res.status > 299) return res.status;
      last = res.status;
    }
    return last;
  }

  // =============================================================================================
  // Internals: record mutation
  // =============================================================================================

  private mustGet(type: ObjectType, id: string): StoredRecord {
    const r = this.stores[type].byId.get(id);
    if (!r) throw new Error(`fake-hubspot: no ${this.stores[type].singular} ${id}`);
    return r;
  }

  /** Normalizes a test-supplied value to HubSpot's string form; throws on unknown properties. */
  private normalizeForMutator(store: ObjectStore, name: string, v: PropertyValueInput): string {
    const def = store.props.get(name);
    if (!def) throw new Error(`fake-hubspot: property "${name}" does not exist on ${store.type}`);
    if (v === null || v === undefined || v === '') return '';
    if (v instanceof Date) v = v.getTime();
    if (def.type === 'datetime' || def.type === 'date') {
      const ms = typeof v === 'number' ? v : parseDateValue(String(v));
      if (Number.isNaN(ms)) throw new Error(`fake-hubspot: bad date for ${name}: ${String(v)}`);
      return def.type === 'date' ? iso(ms).slice(0, 10) : iso(ms);
    }
    return String(v);
  }

  private newRecord(store: ObjectStore, createdAt: number): StoredRecord {
    const num = store.nextNum++;
    const id = String(num);
    const rec: StoredRecord = {
      num,
      id,
      properties: { hs_object_id: id, createdate: iso(createdAt), hs_lastmodifieddate: iso(createdAt) },
      createdAt,
      updatedAt: createdAt,
      archived: false,
      archivedAt: null,
    };
    if (store.type === 'contacts') rec.properties.lastmodifieddate = rec.properties.hs_lastmodifieddate as string;
    if (store.type === 'companies') rec.properties.num_associated_contacts = '0';
    store.records.push(rec);
    store.byId.set(id, rec);
    return rec;
  }

  /** Applies normalized values, keeping createdAt/updatedAt and the date properties in step. */
  private applyProps(store: ObjectStore, rec: StoredRecord, values: Record<string, string>): void {
    for (const [k, v] of Object.entries(values)) {
      if (v === '') delete rec.properties[k];
      else rec.properties[k] = v;
    }
    const mod = values.hs_lastmodifieddate ?? values.lastmodifieddate;
    if (values.createdate) {
      rec.createdAt = Date.parse(values.createdate);
      if (!mod && rec.updatedAt < rec.createdAt) rec.updatedAt = rec.createdAt;
    }
    if (mod) rec.updatedAt = Date.parse(mod);
    rec.properties.hs_lastmodifieddate = iso(rec.updatedAt);
    if (store.type === 'contacts') rec.properties.lastmodifieddate = iso(rec.updatedAt);
  }

  private seed(type: ObjectType, n: number, makeProps: ((i: number) => PropertyInput) | undefined, opts: SeedOptions): string[] {
    const store = this.stores[type];
    const step = opts.stepMs ?? 60_000;
    const start = opts.startAt instanceof Date ? opts.startAt.getTime() : (opts.startAt ?? this.now() - n * step);
    const ids: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const rec = this.newRecord(store, start + i * step);
      if (makeProps) {
        const input = makeProps(i);
        const values: Record<string, string> = {};
        for (const k in input) values[k] = this.normalizeForMutator(store, k, input[k]);
        this.applyProps(store, rec, values);
      }
      ids[i] = rec.id;
    }
    return ids;
  }

  private createRecord(type: ObjectType, props: PropertyInput, source: string): Mutation {
    const store = this.stores[type];
    const values: Record<string, string> = {};
    for (const k in props) values[k] = this.normalizeForMutator(store, k, props[k]);
    return this.doCreate(store, values, source);
  }

  private doCreate(store: ObjectStore, values: Record<string, string>, source: string): Mutation {
    const now = this.now();
    const rec = this.newRecord(store, now);
    this.applyProps(store, rec, values);
    const events: WebhookEvent[] = [
      this.event(`${store.singular}.creation`, rec, now, source, { changeFlag: 'CREATED' }),
    ];
    // One propertyChange per property the creator set (subscriptions are per property).
    for (const [k, v] of Object.entries(values)) {
      if (v === '') continue;
      events.push(this.event(`${store.singular}.propertyChange`, rec, now, source, { propertyName: k, propertyValue: v }));
    }
    return { ...this.serialize(store, rec, null), events };
  }

  private updateRecord(type: ObjectType, id: string, props: PropertyInput, source: string): Mutation {
    const store = this.stores[type];
    const rec = this.mustGet(type, id);
    const values: Record<string, string> = {};
    for (const k in props) values[k] = this.normalizeForMutator(store, k, props[k]);
    return this.doUpdate(store, rec, values, source);
  }

  private doUpdate(store: ObjectStore, rec: StoredRecord, values: Record<string, string>, source: string): Mutation {
    const changed: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if ((rec.properties[k] ?? '') !== v) changed[k] = v;
    const events: WebhookEvent[] = [];
    if (Object.keys(changed).length > 0) {
      const now = this.now();
      // An explicit hs_lastmodifieddate (mutators only) wins; otherwise the write stamps "now".
      if (!changed.hs_lastmodifieddate && !changed.lastmodifieddate) rec.updatedAt = Math.max(now, rec.updatedAt);
      this.applyProps(store, rec, changed);
      for (const [k, v] of Object.entries(changed)) {
        events.push(this.event(`${store.singular}.propertyChange`, rec, now, source, { propertyName: k, propertyValue: v }));
      }
    }
    return { ...this.serialize(store, rec, null), events };
  }

  private archiveRecord(type: ObjectType, id: string, source: string): Mutation {
    const store = this.stores[type];
    const rec = this.mustGet(type, id);
    const events: WebhookEvent[] = [];
    if (!rec.archived) {
      const now = this.now();
      rec.archived = true;
      rec.archivedAt = now;
      rec.updatedAt = Math.max(now, rec.updatedAt);
      rec.properties.hs_lastmodifieddate = iso(rec.updatedAt);
      events.push(this.event(`${store.singular}.deletion`, rec, now, source, { changeFlag: 'DELETED' }));
    }
    return { ...this.serialize(store, rec, null), events };
  }

  /** Writes system-maintained properties (no webhook: HubSpot doesn't send them for these). */
  private setSystem(store: ObjectStore, rec: StoredRecord, values: Record<string, string>, now: number): void {
    rec.updatedAt = Math.max(now, rec.updatedAt);
    this.applyProps(store, rec, values);
  }

  private link(companyId: string, contactId: string, emit: boolean): WebhookEvent[] {
    const company = this.mustGet('companies', companyId);
    const contact = this.mustGet('contacts', contactId);
    let set = this.companyContacts.get(companyId);
    if (!set) this.companyContacts.set(companyId, (set = new Set()));
    if (set.has(contactId)) return [];
    set.add(contactId);
    let back = this.contactCompanies.get(contactId);
    if (!back) this.contactCompanies.set(contactId, (back = new Set()));
    back.add(companyId);
    const isPrimary = !this.primaryCompany.has(contactId);
    if (isPrimary) this.primaryCompany.set(contactId, companyId);
    if (!emit) {
      // Seeding: keep derived properties right without touching the timestamps.
      company.properties.num_associated_contacts = String(set.size);
      if (isPrimary) contact.properties.associatedcompanyid = companyId;
      return [];
    }
    const now = this.now();
    this.setSystem(this.stores.companies, company, { num_associated_contacts: String(set.size) }, now);
    if (isPrimary) this.setSystem(this.stores.contacts, contact, { associatedcompanyid: companyId }, now);
    return this.assocEvents(company, contact, false, isPrimary, now);
  }

  private assocEvents(company: StoredRecord, contact: StoredRecord, removed: boolean, primary: boolean, now: number): WebhookEvent[] {
    // HubSpot sends one event per direction.
    const events = [
      this.event('company.associationChange', company, now, 'CRM_UI', {
        associationType: 'COMPANY_TO_CONTACT', fromObjectId: company.num, toObjectId: contact.num,
        associationRemoved: removed, isPrimaryAssociation: primary,
      }),
      this.event('contact.associationChange', contact, now, 'CRM_UI', {
        associationType: 'CONTACT_TO_COMPANY', fromObjectId: contact.num, toObjectId: company.num,
        associationRemoved: removed, isPrimaryAssociation: primary,
      }),
    ];
    return events;
  }

  private event(
    subscriptionType: WebhookSubscriptionType,
    rec: StoredRecord,
    occurredAt: number,
    changeSource: string,
    extra: Partial<WebhookEvent>,
  ): WebhookEvent {
    const ev: WebhookEvent = {
      eventId: this.nextEventId++,
      subscriptionId: SUBSCRIPTION_IDS[subscriptionType],
      portalId: this.portalId,
      appId: this.appId,
      occurredAt,
      subscriptionType,
      attemptNumber: 0,
      objectId: rec.num,
      changeSource,
      ...extra,
    };
    this.webhookOutbox.push(ev);
    return ev;
  }

  // =============================================================================================
  // Internals: serialization
  // =============================================================================================

  /** props === null: every property the record has; otherwise exactly these (missing -> null). */
  private serialize(store: ObjectStore, rec: StoredRecord, props: string[] | null): PublicRecord {
    let properties: Record<string, string | null>;
    if (props === null) {
      properties = { ...rec.properties };
    } else {
      properties = {};
      for (const p of props) properties[p] = rec.properties[p] ?? null;
    }
    const out: PublicRecord = {
      id: rec.id,
      properties,
      createdAt: iso(rec.createdAt),
      updatedAt: iso(rec.updatedAt),
      archived: rec.archived,
    };
    if (rec.archivedAt !== null) out.archivedAt = iso(rec.archivedAt);
    return out;
  }

  /** Requested property names that exist (HubSpot silently ignores unknown ones on reads). */
  private selectProps(store: ObjectStore, requested: string[] | undefined): string[] {
    if (!requested || requested.length === 0) return store.defaultProps;
    const out = new Set<string>();
    for (const raw of requested) for (const p of raw.split(',')) if (store.props.has(p.trim())) out.add(p.trim());
    return [...out];
  }

  private associationsOf(store: ObjectStore, rec: StoredRecord, toTypes: ObjectType[]): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined;
    for (const to of toTypes) {
      if (to === store.type) continue;
      const results: { id: string; type: string }[] = [];
      if (store.type === 'companies') {
        for (const cid of this.companyContacts.get(rec.id) ?? []) {
          if (this.stores.contacts.byId.get(cid)?.archived) continue;
          // A primary association is two associations (typed + unlabeled), so ids repeat.
          if (this.primaryCompany.get(cid) === rec.id) results.push({ id: cid, type: 'company_to_contact' });
          results.push({ id: cid, type: 'company_to_contact_unlabeled' });
        }
      } else {
        const primary = this.primaryCompany.get(rec.id);
        for (const cid of this.contactCompanies.get(rec.id) ?? []) {
          if (this.stores.companies.byId.get(cid)?.archived) continue;
          if (primary === cid) results.push({ id: cid, type: 'contact_to_company' });
          results.push({ id: cid, type: 'contact_to_company_unlabeled' });
        }
      }
      // HubSpot omits association types with no associations.
      if (results.length) (out ??= {})[to] = { results };
    }
    return out;
  }

  // =============================================================================================
  // HTTP
  // =============================================================================================

  /** @internal */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    // The SDK's owners API calls '/crm/v3/owners/' and the lists API '/crm/v3/lists/'.
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = req.method ?? 'GET';
    let reply: Reply;
    try {
      const raw = await readBody(req);
      reply = this.route(method, path, url.searchParams, raw, req.headers);
    } catch (err) {
      if (err instanceof HubspotError) {
        reply = { status: err.status, body: err.body, headers: err.headers };
      } else {
        reply = {
          status: 500,
          body: { status: 'error', message: `fake-hubspot internal error: ${String(err)}`, correlationId: randomUUID(), category: 'INTERNAL_ERROR' },
        };
      }
    }
    this.requests.push({ method, path, query: url.search, status: reply.status, at: this.now() });
    const headers: Record<string, string> = { 'x-hubspot-correlation-id': randomUUID(), ...reply.headers };
    if (reply.body === undefined || reply.status === 204) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json;charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(reply.status, headers);
    res.end(text);
  }

  private route(method: string, path: string, q: URLSearchParams, raw: string, headers: http.IncomingHttpHeaders): Reply {
    const injected = this.failures.findIndex((f) => !f.pathPrefix || path.startsWith(f.pathPrefix));
    if (injected >= 0) {
      const f = this.failures.splice(injected, 1)[0] as { status: number };
      throw apiError(f.status, f.status === 502 || f.status === 503 || f.status === 504 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR',
        f.status === 500 ? 'internal error' : 'The service is temporarily unavailable', {});
    }
    const seg = path.split('/').slice(1);

    if (seg[0] === 'oauth' && seg[1] === 'v1') return this.routeOauth(method, seg, raw, headers);

    const token = this.authenticate(headers);
    const isSearch = method === 'POST' && seg[0] === 'crm' && seg[1] === 'v3' && seg[2] === 'objects' && seg[4] === 'search' && seg.length === 5;
    const rl = this.applyRateLimit(token.token, isSearch);

    try {
      const reply = this.routeApi(method, seg, q, raw, token);
      reply.headers = { ...rl, ...reply.headers };
      return reply;
    } catch (err) {
      // Error responses carry the rate-limit headers too.
      if (err instanceof HubspotError) err.headers = { ...rl, ...err.headers };
      throw err;
    }
  }

  private authenticate(headers: http.IncomingHttpHeaders): AccessToken {
    const auth = headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    const t = m ? this.tokens.get((m[1] as string).trim()) : undefined;
    if (!t) {
      throw apiError(401, 'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview');
    }
    const now = this.now();
    if (t.expiresAt <= now) {
      const mins = Math.floor((now - t.expiresAt) / 60_000);
      throw apiError(401, 'EXPIRED_AUTHENTICATION', `The OAuth token used to make this call expired ${mins} minute(s) ago.`);
    }
    return t;
  }

  private applyRateLimit(token: string, isSearch: boolean): Record<string, string> {
    const now = this.now();
    if (isSearch) {
      // Search has its own per-second limit and does not send the X-HubSpot-RateLimit headers.
      if (this.searchLimiter && !this.searchLimiter.take(token, now).ok) {
        throw new HubspotError(429, {
          status: 'error',
          message: 'You have reached your secondly limit.',
          errorType: 'RATE_LIMIT',
          correlationId: randomUUID(),
          policyName: 'SECONDLY',
        });
      }
      return {};
    }
    if (!this.limiter) return {};
    const r = this.limiter.take(token, now);
    const headers = {
      'X-HubSpot-RateLimit-Max': String(this.limiter.max),
      'X-HubSpot-RateLimit-Remaining': String(r.remaining),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(this.limiter.windowMs),
    };
    if (!r.ok) {
      throw new HubspotError(
        429,
        {
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          errorType: 'RATE_LIMIT',
          correlationId: randomUUID(),
          policyName: 'TEN_SECONDLY_ROLLING',
        },
        { ...headers, 'Retry-After': String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) },
      );
    }
    return headers;
  }

  private requireScope(token: AccessToken, scope: string): void {
    if (token.scopes.includes(scope)) return;
    throw apiError(403, 'MISSING_SCOPES',
      "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
      {
        errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: [scope] } }],
        links: { scopes: 'https://developers.hubspot.com/scopes' },
      });
  }

  private storeFor(name: string | undefined): ObjectStore {
    switch (name) {
      case 'companies': case 'company': case '0-2': return this.stores.companies;
      case 'contacts': case 'contact': case '0-1': return this.stores.contacts;
      default: throw validationError(`Unable to infer object type from: ${name ?? ''}`);
    }
  }

  private routeApi(method: string, seg: string[], q: URLSearchParams, raw: string, token: AccessToken): Reply {
    const [s0, s1, s2, s3, s4, s5] = seg;
    // Account information API: any valid token may read its own account's details (no scope).
    if (s0 === 'account-info' && s1 === 'v3' && s2 === 'details' && seg.length === 3 && method === 'GET') return this.accountDetails();
    if (s0 === 'crm' && s1 === 'v3' && s2 === 'objects' && s3) {
      const store = this.storeFor(s3);
      const read = `crm.objects.${store.type}.read`;
      const write = `crm.objects.${store.type}.write`;
      if (seg.length === 4 && method === 'GET') return this.requireScope(token, read), this.listObjects(store, q);
      if (seg.length === 4 && method === 'POST') return this.requireScope(token, write), this.createObject(store, json(raw));
      if (seg.length === 5 && s4 === 'search' && method === 'POST') return this.requireScope(token, read), this.search(store, json(raw));
      if (seg.length === 6 && s4 === 'batch' && s5 === 'read' && method === 'POST') {
        return this.requireScope(token, read), this.batchRead(store, q, json(raw));
      }
      if (seg.length === 5 && s4 !== 'search' && s4 !== 'batch') {
        if (method === 'GET') return this.requireScope(token, read), this.getObject(store, s4 as string, q);
        if (method === 'PATCH') return this.requireScope(token, write), this.patchObject(store, s4 as string, q, json(raw));
        if (method === 'DELETE') return this.requireScope(token, write), this.deleteObject(store, s4 as string);
      }
    }
    // /crm/v4/associations/{from}/{to}/batch/read
    if (s0 === 'crm' && s1 === 'v4' && s2 === 'associations' && seg.length === 7 && seg[5] === 'batch' && seg[6] === 'read' && method === 'POST') {
      const from = this.storeFor(s3);
      const to = this.storeFor(s4);
      this.requireScope(token, `crm.objects.${from.type}.read`);
      return this.batchReadAssociations(from, to, json(raw));
    }
    if (s0 === 'crm' && s1 === 'v3' && s2 === 'properties' && s3) {
      const store = this.storeFor(s3);
      if (seg.length === 4 && method === 'GET') {
        this.requireScope(token, `crm.schemas.${store.type}.read`);
        const archived = q.get('archived') === 'true';
        return { status: 200, body: { results: [...store.props.values()].filter((p) => p.archived === archived).map((p) => this.propJson(p)) } };
      }
      if (seg.length === 4 && method === 'POST') return this.requireScope(token, `crm.schemas.${store.type}.write`), this.createProperty(store, json(raw));
      if (seg.length === 5 && method === 'GET') {
        this.requireScope(token, `crm.schemas.${store.type}.read`);
        const p = store.props.get(s4 as string);
        if (!p || p.archived) throw apiError(404, 'OBJECT_NOT_FOUND', `Unable to find property ${s4} on object type ${store.objectTypeId}`);
        return { status: 200, body: this.propJson(p) };
      }
      if (seg.length === 5 && method === 'DELETE') {
        this.requireScope(token, `crm.schemas.${store.type}.write`);
        const p = store.props.get(s4 as string);
        if (!p || p.archived) throw apiError(404, 'OBJECT_NOT_FOUND', `Unable to find property ${s4} on object type ${store.objectTypeId}`);
        if (p.hubspotDefined) throw validationError(`Property ${s4} is a HubSpot defined property and cannot be archived`);
        p.archived = true;
        return { status: 204 };
      }
    }
    if (s0 === 'crm' && s1 === 'v3' && s2 === 'owners') {
      this.requireScope(token, 'crm.objects.owners.read');
      if (seg.length === 3 && method === 'GET') return this.listOwners(q);
      if (seg.length === 4 && method === 'GET') {
        const byUser = q.get('idProperty') === 'userId';
        const o = this.owners.find((x) => (byUser ? String(x.userId) : x.id) === s3);
        const archived = q.get('archived') === 'true';
        if (!o || o.archived !== archived) throw apiError(404, 'OBJECT_NOT_FOUND', 'resource not found');
        return { status: 200, body: o };
      }
    }
    if (s0 === 'crm' && s1 === 'v3' && s2 === 'lists' && s3) {
      this.requireScope(token, 'crm.lists.read');
      const list = this.lists.get(s3);
      if (!list) throw apiError(404, 'OBJECT_NOT_FOUND', `List with id ${s3} does not exist.`);
      if (seg.length === 4 && method === 'GET') return { status: 200, body: { list: this.listJson(list) } };
      if (seg.length === 5 && s4 === 'memberships' && method === 'GET') return this.listMemberships(list, q);
    }
    return this.notFound(method, seg);
  }

  /** GET /account-info/v3/details, shaped as HubSpot documents it. */
  private accountDetails(): Reply {
    return {
      status: 200,
      body: {
        portalId: this.portalId,
        accountType: 'STANDARD',
        timeZone: 'US/Eastern',
        companyCurrency: 'USD',
        additionalCurrencies: [],
        utcOffset: '-05:00',
        utcOffsetMilliseconds: -18_000_000,
        uiDomain: 'app.hubspot.com',
        dataHostingLocation: 'na1',
      },
    };
  }

  private notFound(method: string, seg: string[]): Reply {
    throw apiError(404, 'OBJECT_NOT_FOUND', `fake-hubspot: no route for ${method} /${seg.join('/')}`);
  }

  // ----- objects ------------------------------------------------------------------------------

  private listObjects(store: ObjectStore, q: URLSearchParams): Reply {
    const limit = intParam(q, 'limit', 10);
    if (limit < 1 || limit > this.pageSizeMax) {
      throw validationError(`limit must be between 1 and ${this.pageSizeMax}; got ${limit}`);
    }
    const archived = q.get('archived') === 'true';
    const after = q.get('after');
    let start = 0;
    if (after !== null && after !== '') {
      if (!/^\d+$/.test(after)) throw validationError(`Invalid 'after' paging cursor: ${after}`);
      start = lowerBound(store.records, Number(after));
    }
    const props = this.selectProps(store, q.getAll('properties'));
    const assocTypes = assocParam(q);
    const results: PublicRecord[] = [];
    let i = start;
    for (; i < store.records.length && results.length < limit; i++) {
      const rec = store.records[i] as StoredRecord;
      if (rec.archived !== archived) continue;
      results.push(this.withAssoc(store, rec, props, assocTypes));
    }
    // Like HubSpot, "next" is present whenever this page was full and records follow.
    while (i < store.records.length && (store.records[i] as StoredRecord).archived !== archived) i++;
    const body: Record<string, unknown> = { results };
    if (i < store.records.length) {
      const next = String((store.records[i] as StoredRecord).num);
      body.paging = { next: { after: next, link: `${this.url}/crm/v3/objects/${store.type}?after=${next}` } };
    }
    return { status: 200, body };
  }

  private withAssoc(store: ObjectStore, rec: StoredRecord, props: string[], assocTypes: ObjectType[]): PublicRecord & { associations?: unknown } {
    const out: PublicRecord & { associations?: unknown } = this.serialize(store, rec, props);
    if (assocTypes.length) {
      const a = this.associationsOf(store, rec, assocTypes);
      if (a) out.associations = a;
    }
    return out;
  }

  private findByIdProperty(store: ObjectStore, id: string, idProperty: string | null): StoredRecord | undefined {
    if (!idProperty || idProperty === 'hs_object_id') return store.byId.get(id);
    const def = store.props.get(idProperty);
    if (!def || !def.hasUniqueValue) throw validationError(`${idProperty} is not a unique identifier property`);
    const want = id.toLowerCase();
    return store.records.find((r) => (r.properties[idProperty] ?? '').toLowerCase() === want);
  }

  private getObject(store: ObjectStore, id: string, q: URLSearchParams): Reply {
    const rec = this.findByIdProperty(store, id, q.get('idProperty'));
    const archived = q.get('archived') === 'true';
    if (!rec || rec.archived !== archived) throw apiError(404, 'OBJECT_NOT_FOUND', 'resource not found');
    const props = this.selectProps(store, q.getAll('properties'));
    return { status: 200, body: this.withAssoc(store, rec, props, assocParam(q)) };
  }

  /** Validates written values the way HubSpot does; returns normalized strings or throws 400. */
  private validateWrite(store: ObjectStore, input: Record<string, string | number | boolean | null>): Record<string, string> {
    const errors: Record<string, unknown>[] = [];
    const out: Record<string, string> = {};
    const fail = (name: string, error: string, message: string) =>
      errors.push({ isValid: false, message, error, name, localizedErrorMessage: message, portalId: this.portalId });
    for (const [name, rawValue] of Object.entries(input)) {
      const def = store.props.get(name);
      if (!def || def.archived) {
        fail(name, 'PROPERTY_DOESNT_EXIST', `Property "${name}" does not exist`);
        continue;
      }
      if (def.readOnlyValue) {
        fail(name, 'READ_ONLY_VALUE', `"${name}" is a read only property; its value cannot be set.`);
        continue;
      }
      const v = rawValue === null ? '' : String(rawValue);
      if (v === '') {
        out[name] = '';
        continue;
      }
      if (def.type === 'number' && !Number.isFinite(Number(v))) {
        fail(name, 'INVALID_DECIMAL', `${v} is not a valid decimal`);
      } else if (def.type === 'bool' && v !== 'true' && v !== 'false') {
        fail(name, 'INVALID_BOOLEAN', `${v} is not a valid boolean value`);
      } else if (def.type === 'datetime' || def.type === 'date') {
        const ms = parseDateValue(v);
        if (Number.isNaN(ms)) fail(name, 'INVALID_DATE', `${v} is not a valid date`);
        else if (def.type === 'date' && ms % 86_400_000 !== 0) {
          fail(name, 'INVALID_DATE', `${v} is at ${iso(ms)}, which is not midnight UTC`);
        } else out[name] = def.type === 'date' ? iso(ms).slice(0, 10) : iso(ms);
        continue;
      } else if (def.type === 'enumeration') {
        const allowed = name === 'hubspot_owner_id' ? this.owners.filter((o) => !o.archived).map((o) => o.id) : def.options.map((o) => o.value);
        const values = def.fieldType === 'checkbox' ? v.split(';') : [v];
        const bad = values.find((x) => !allowed.includes(x));
        if (bad !== undefined) fail(name, 'INVALID_OPTION', `${bad} was not one of the allowed options: [${allowed.join(', ')}]`);
      }
      out[name] = v;
    }
    if (errors.length) throw validationError(`Property values were not valid: ${JSON.stringify(errors)}`);
    return out;
  }

  private createObject(store: ObjectStore, raw: unknown): Reply {
    const body = parseBody(ObjectInputSchema, raw);
    const values = this.validateWrite(store, body.properties);
    if (store.type === 'contacts' && values.email) {
      const email = values.email.toLowerCase();
      const dup = store.records.find((r) => !r.archived && r.properties.email?.toLowerCase() === email);
      if (dup) {
        throw apiError(409, 'CONFLICT', `Contact already exists. Existing ID: ${dup.id}`);
      }
    }
    const m = this.doCreate(store, values, 'INTEGRATION');
    const rec = store.byId.get(m.id) as StoredRecord;
    return { status: 201, body: this.serialize(store, rec, [...new Set([...store.defaultProps, ...Object.keys(values)])]) };
  }

  private patchObject(store: ObjectStore, id: string, q: URLSearchParams, raw: unknown): Reply {
    const rec = this.findByIdProperty(store, id, q.get('idProperty'));
    if (!rec || rec.archived) throw apiError(404, 'OBJECT_NOT_FOUND', 'resource not found');
    const body = parseBody(ObjectInputSchema, raw);
    const values = this.validateWrite(store, body.properties);
    this.doUpdate(store, rec, values, 'INTEGRATION');
    return { status: 200, body: this.serialize(store, rec, [...new Set([...store.defaultProps, ...Object.keys(values)])]) };
  }

  private deleteObject(store: ObjectStore, id: string): Reply {
    const rec = store.byId.get(id);
    // HubSpot answers 204 for ids that don't exist or are already archived.
    if (rec && !rec.archived) this.archiveRecord(store.type, id, 'INTEGRATION');
    return { status: 204 };
  }

  private batchRead(store: ObjectStore, q: URLSearchParams, raw: unknown): Reply {
    const startedAt = iso(this.now());
    const body = parseBody(BatchReadSchema, raw);
    if (body.inputs.length > 100) {
      throw validationError(`Batch input size of ${body.inputs.length} exceeds the limit of 100 inputs.`, {
        context: { maxInputs: ['100'] },
      });
    }
    const archived = q.get('archived') === 'true';
    const props = this.selectProps(store, body.properties);
    const idProperty = body.idProperty ?? null;
    if (idProperty && idProperty !== 'hs_object_id') {
      const def = store.props.get(idProperty);
      if (!def || !def.hasUniqueValue) throw validationError(`${idProperty} is not a unique identifier property`);
    }
    let byUnique: Map<string, StoredRecord> | null = null;
    if (idProperty && idProperty !== 'hs_object_id') {
      byUnique = new Map();
      for (const r of store.records) {
        const v = r.properties[idProperty];
        if (v !== undefined && r.archived === archived) byUnique.set(v.toLowerCase(), r);
      }
    }
    const results: PublicRecord[] = [];
    const missing: string[] = [];
    const seen = new Set<string>();
    for (const input of body.inputs) {
      const id = String(input.id);
      if (seen.has(id)) continue;
      seen.add(id);
      const rec = byUnique ? byUnique.get(id.toLowerCase()) : store.byId.get(id);
      if (!rec || rec.archived !== archived) missing.push(id);
      else results.push(this.serialize(store, rec, props));
    }
    const out: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: iso(this.now()) };
    if (missing.length) {
      out.numErrors = 1;
      out.errors = [{
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message: `Could not get some ${store.upper} objects, they may be deleted or not exist. Check that ids are valid.`,
        context: { ids: missing },
      }];
      return { status: 207, body: out };
    }
    return { status: 200, body: out };
  }

  // ----- search -------------------------------------------------------------------------------

  private search(store: ObjectStore, raw: unknown): Reply {
    const body = parseBody(SearchSchema, raw);
    const limit = body.limit ?? 10;
    if (limit < 1 || limit > 200) throw validationError(`limit must be between 1 and 200; got ${limit}`);
    const groups = body.filterGroups ?? [];
    const total = groups.reduce((n, g) => n + g.filters.length, 0);
    if (groups.length > 5 || groups.some((g) => g.filters.length > 6) || total > 18) {
      throw validationError(
        `Too many filters: at most 5 filterGroups with up to 6 filters each and 18 filters in total are allowed (got ${groups.length} groups, ${total} filters).`,
      );
    }
    let after = 0;
    if (body.after !== undefined && body.after !== '') {
      after = Number(body.after);
      if (!Number.isInteger(after) || after < 0) throw validationError(`Invalid 'after' paging cursor: ${String(body.after)}`);
    }
    // The hard cap: search never pages beyond the first 10,000 results of a query.
    if (after >= 10_000) {
      throw validationError(
        `Search can only return the first 10000 results of a query; 'after' (${after}) is past that. Narrow the filters instead.`,
      );
    }
    const predicates = groups.map((g) => g.filters.map((f) => this.compileFilter(store, f)));
    const queryPred = body.query ? this.compileQuery(store, body.query) : null;
    const matches: StoredRecord[] = [];
    for (const rec of store.records) {
      if (rec.archived) continue;
      if (predicates.length && !predicates.some((g) => g.every((p) => p(rec)))) continue;
      if (queryPred && !queryPred(rec)) continue;
      matches.push(rec);
    }
    const sorts = (body.sorts ?? []).map((s) =>
      typeof s === 'string'
        ? { propertyName: s.replace(/^-/, ''), direction: s.startsWith('-') ? 'DESCENDING' : 'ASCENDING' }
        : { propertyName: s.propertyName, direction: s.direction ?? 'ASCENDING' },
    );
    if (sorts.length) {
      const cmps = sorts.map((s) => {
        const def = store.props.get(s.propertyName);
        if (!def) throw validationError(`Property "${s.propertyName}" does not exist`);
        const key = sortKey(def);
        const dir = s.direction === 'DESCENDING' ? -1 : 1;
        return (a: StoredRecord, b: StoredRecord) => {
          const va = key(a.properties[def.name]);
          const vb = key(b.properties[def.name]);
          if (va === null || vb === null) return va === vb ? 0 : va === null ? 1 : -1; // missing last
          return va < vb ? -dir : va > vb ? dir : 0;
        };
      });
      matches.sort((a, b) => {
        for (const c of cmps) {
          const r = c(a, b);
          if (r) return r;
        }
        return a.num - b.num;
      });
    }
    const end = Math.min(after + limit, matches.length, 10_000);
    const props = this.selectProps(store, body.properties);
    const results = matches.slice(after, end).map((r) => this.serialize(store, r, props));
    const out: Record<string, unknown> = { total: matches.length, results };
    if (end < matches.length) out.paging = { next: { after: String(end), link: `?after=${end}` } };
    return { status: 200, body: out };
  }

  private compileFilter(store: ObjectStore, f: Filter): (r: StoredRecord) => boolean {
    const def = store.props.get(f.propertyName);
    if (!def) throw validationError(`Property "${f.propertyName}" does not exist`, { context: { propertyName: [f.propertyName] } });
    const name = def.name;
    const key = sortKey(def);
    const needs = (v: unknown, what: string): void => {
      if (v === undefined || v === null) throw validationError(`Operator ${f.operator} requires ${what} (property ${name})`);
    };
    const conv = (v: string | number | boolean): number | string => {
      const k = key(String(v));
      if (k === null || (typeof k === 'number' && Number.isNaN(k))) {
        throw validationError(`${String(v)} is not a valid value for ${def.type} property ${name}`);
      }
      return k;
    };
    const op: Operator = f.operator;
    switch (op) {
      case 'HAS_PROPERTY':
        return (r) => r.properties[name] !== undefined;
      case 'NOT_HAS_PROPERTY':
        return (r) => r.properties[name] === undefined;
      case 'EQ':
      case 'NEQ': {
        needs(f.value, 'value');
        const want = conv(f.value as string);
        const eq = (r: StoredRecord) => {
          const v = r.properties[name];
          return v !== undefined && key(v) === want;
        };
        return op === 'EQ' ? eq : (r) => !eq(r);
      }
      case 'LT': case 'LTE': case 'GT': case 'GTE': {
        needs(f.value, 'value');
        const want = conv(f.value as string);
        return (r) => {
          const raw = r.properties[name];
          if (raw === undefined) return false;
          const v = key(raw);
          if (v === null) return false;
          return op === 'LT' ? v < want : op === 'LTE' ? v <= want : op === 'GT' ? v > want : v >= want;
        };
      }
      case 'BETWEEN': {
        needs(f.value, 'value');
        needs(f.highValue, 'highValue');
        const lo = conv(f.value as string);
        const hi = conv(f.highValue as string);
        return (r) => {
          const raw = r.properties[name];
          if (raw === undefined) return false;
          const v = key(raw);
          return v !== null && v >= lo && v <= hi;
        };
      }
      case 'IN':
      case 'NOT_IN': {
        if (!f.values || f.values.length === 0) throw validationError(`Operator ${op} requires values (property ${name})`);
        const set = new Set(f.values.map(conv));
        const has = (r: StoredRecord) => {
          const raw = r.properties[name];
          return raw !== undefined && set.has(key(raw) as string | number);
        };
        return op === 'IN' ? has : (r) => !has(r);
      }
      case 'CONTAINS_TOKEN':
      case 'NOT_CONTAINS_TOKEN': {
        needs(f.value, 'value');
        const pattern = new RegExp(`^${String(f.value).toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
        const has = (r: StoredRecord) =>
          (r.properties[name] ?? '').toLowerCase().split(/[^a-z0-9@.*-]+/).some((t) => pattern.test(t));
        return op === 'CONTAINS_TOKEN' ? has : (r) => !has(r);
      }
    }
  }

  private compileQuery(store: ObjectStore, query: string): (r: StoredRecord) => boolean {
    const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    return (r) =>
      terms.every((t) =>
        store.queryProps.some((p) => (r.properties[p] ?? '').toLowerCase().split(/[\s,]+/).some((w) => w.startsWith(t))),
      );
  }

  // ----- associations v4 ----------------------------------------------------------------------

  private batchReadAssociations(from: ObjectStore, to: ObjectStore, raw: unknown): Reply {
    const startedAt = iso(this.now());
    const body = parseBody(AssocBatchSchema, raw);
    if (body.inputs.length > 1000) throw validationError(`Batch input size of ${body.inputs.length} exceeds the limit of 1000 inputs.`);
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const input of body.inputs) {
      const id = String(input.id);
      const rec = from.byId.get(id);
      const targets: { id: string; primary: boolean }[] = [];
      if (rec && !rec.archived && from.type !== to.type) {
        if (from.type === 'companies') {
          for (const cid of this.companyContacts.get(id) ?? []) {
            if (!this.stores.contacts.byId.get(cid)?.archived) targets.push({ id: cid, primary: this.primaryCompany.get(cid) === id });
          }
        } else {
          const primary = this.primaryCompany.get(id);
          for (const cid of this.contactCompanies.get(id) ?? []) {
            if (!this.stores.companies.byId.get(cid)?.archived) targets.push({ id: cid, primary: primary === cid });
          }
        }
      }
      if (targets.length === 0) {
        errors.push({
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
          message: `No ${to.singular} is associated with ${from.singular} ${id}.`,
          context: { fromObjectId: [id], fromObjectType: [from.upper], toObjectType: [to.upper] },
        });
        continue;
      }
      targets.sort((a, b) => Number(a.id) - Number(b.id));
      const offset = input.after ? Number(input.after) || 0 : 0;
      const page = targets.slice(offset, offset + 500);
      const item: Record<string, unknown> = {
        from: { id },
        to: page.map((t) => {
          const unlabeled = from.type === 'companies' ? ASSOC.companyToContact : ASSOC.contactToCompany;
          const primaryId = from.type === 'companies' ? ASSOC.companyToContactPrimary : ASSOC.contactToCompanyPrimary;
          const types: unknown[] = [{ category: 'HUBSPOT_DEFINED', typeId: unlabeled, label: null }];
          if (t.primary) types.push({ category: 'HUBSPOT_DEFINED', typeId: primaryId, label: 'Primary' });
          // HubSpot sends toObjectId as a JSON number (the SDK's typing says string).
          return { toObjectId: Number(t.id), associationTypes: types };
        }),
      };
      if (offset + 500 < targets.length) item.paging = { next: { after: String(offset + 500), link: null } };
      results.push(item);
    }
    const out: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: iso(this.now()) };
    if (errors.length) {
      out.numErrors = errors.length;
      out.errors = errors;
      return { status: 207, body: out };
    }
    return { status: 200, body: out };
  }

  // ----- properties ---------------------------------------------------------------------------

  private propJson(p: PropertyDefinition): Record<string, unknown> {
    const options =
      p.name === 'hubspot_owner_id'
        ? this.owners.filter((o) => !o.archived).map((o, i) => ({
            label: `${o.firstName} ${o.lastName}`.trim() || o.email, value: o.id, displayOrder: i, hidden: false,
          }))
        : p.options;
    return {
      name: p.name,
      label: p.label,
      type: p.type,
      fieldType: p.fieldType,
      description: p.description,
      groupName: p.groupName,
      options,
      displayOrder: p.displayOrder,
      calculated: p.calculated,
      externalOptions: p.externalOptions,
      hasUniqueValue: p.hasUniqueValue,
      hidden: p.hidden,
      hubspotDefined: p.hubspotDefined,
      modificationMetadata: { archivable: !p.hubspotDefined, readOnlyDefinition: p.hubspotDefined, readOnlyValue: p.readOnlyValue },
      formField: p.formField,
      dataSensitivity: 'non_sensitive',
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
      archived: p.archived,
    };
  }

  private createProperty(store: ObjectStore, raw: unknown): Reply {
    const body = parseBody(PropertyCreateSchema, raw);
    if (!/^[a-z][a-z0-9_]*$/.test(body.name)) {
      throw validationError(`Property name "${body.name}" is invalid: use lowercase letters, digits and underscores, starting with a letter.`);
    }
    const existing = store.props.get(body.name);
    if (existing && !existing.archived) {
      throw apiError(409, 'OBJECT_ALREADY_EXISTS', `Property named '${body.name}' already exists.`, {
        subCategory: 'PropertyValidationError.PROPERTY_EXISTS',
        context: { name: [body.name] },
      });
    }
    if (body.type === 'enumeration' && (!body.options || body.options.length === 0) && body.fieldType !== 'booleancheckbox') {
      throw validationError(`Enumeration property ${body.name} requires options`);
    }
    const fieldOk: Record<string, string[]> = {
      string: ['text', 'textarea', 'html', 'file', 'phonenumber'],
      number: ['number', 'calculation_equation'],
      date: ['date'],
      datetime: ['date'],
      enumeration: ['select', 'radio', 'checkbox', 'booleancheckbox'],
      bool: ['booleancheckbox'],
      phone_number: ['phonenumber'],
    };
    if (!fieldOk[body.type]?.includes(body.fieldType)) {
      throw validationError(`fieldType ${body.fieldType} is not valid for a property of type ${body.type}`);
    }
    const def = makeProp(
      {
        name: body.name,
        label: body.label,
        type: body.type,
        fieldType: body.fieldType,
        groupName: body.groupName,
        description: body.description ?? '',
        options: (body.options ?? []).map((o, i) => ({ label: o.label, value: o.value, displayOrder: o.displayOrder ?? i, hidden: o.hidden ?? false, description: o.description })),
        hasUniqueValue: body.hasUniqueValue ?? false,
        hidden: body.hidden ?? false,
        formField: body.formField ?? false,
        hubspotDefined: false,
      },
      store.props.size,
      this.now(),
    );
    store.props.set(def.name, def);
    return { status: 201, body: this.propJson(def) };
  }

  // ----- owners & lists -----------------------------------------------------------------------

  private listOwners(q: URLSearchParams): Reply {
    const limit = intParam(q, 'limit', 100);
    if (limit < 1 || limit > 500) throw validationError(`limit must be between 1 and 500; got ${limit}`);
    const archived = q.get('archived') === 'true';
    const email = q.get('email');
    const all = this.owners.filter((o) => o.archived === archived && (!email || o.email.toLowerCase() === email.toLowerCase()));
    const start = decodeOffset(q.get('after'));
    const page = all.slice(start, start + limit);
    const body: Record<string, unknown> = { results: page };
    if (start + limit < all.length) {
      const after = encodeOffset(start + limit);
      body.paging = { next: { after, link: `${this.url}/crm/v3/owners/?after=${after}` } };
    }
    return { status: 200, body };
  }

  private listJson(list: ListState): Record<string, unknown> {
    return {
      listId: list.listId,
      listVersion: 1,
      name: list.name,
      objectTypeId: list.objectTypeId,
      processingType: 'MANUAL',
      processingStatus: 'COMPLETE',
      size: list.members.length,
      createdAt: iso(list.createdAt),
      updatedAt: iso(list.updatedAt),
    };
  }

  private listMemberships(list: ListState, q: URLSearchParams): Reply {
    const limit = intParam(q, 'limit', 100);
    if (limit < 1 || limit > 250) throw validationError(`limit must be between 1 and 250; got ${limit}`);
    const start = decodeOffset(q.get('after'));
    const page = list.members.slice(start, start + limit);
    const body: Record<string, unknown> = {
      results: page.map((m) => ({ recordId: m.recordId, membershipTimestamp: iso(m.at) })),
      total: list.members.length,
    };
    if (start + limit < list.members.length) body.paging = { next: { after: encodeOffset(start + limit) } };
    return { status: 200, body };
  }

  // ----- OAuth --------------------------------------------------------------------------------

  private routeOauth(method: string, seg: string[], raw: string, headers: http.IncomingHttpHeaders): Reply {
    if (seg[2] === 'token' && seg.length === 3 && method === 'POST') return this.tokenEndpoint(raw, headers);
    if (seg[2] === 'access-tokens' && seg.length === 4 && method === 'GET') {
      const t = this.tokens.get(seg[3] as string);
      if (!t || t.kind !== 'oauth' || t.expiresAt <= this.now()) {
        throw new HubspotError(404, { status: 'error', message: 'Token not found', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' });
      }
      return {
        status: 200,
        body: {
          token: t.token,
          user: t.user,
          hub_domain: `portal-${this.portalId}.hubspot.com`,
          scopes: t.scopes,
          hub_id: this.portalId,
          app_id: this.appId,
          expires_in: Math.max(0, Math.floor((t.expiresAt - this.now()) / 1000)),
          user_id: t.userId,
          token_type: 'access',
        },
      };
    }
    if (seg[2] === 'refresh-tokens' && seg.length === 4) {
      const r = this.refreshTokens.get(seg[3] as string);
      if (!r || r.revoked) {
        throw new HubspotError(404, { status: 'error', message: 'Refresh token not found', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' });
      }
      if (method === 'DELETE') {
        r.revoked = true;
        return { status: 204 };
      }
      if (method === 'GET') {
        return {
          status: 200,
          body: { token: r.token, user: r.user, hub_domain: `portal-${this.portalId}.hubspot.com`, scopes: r.scopes, hub_id: this.portalId, client_id: this.clientId, user_id: r.userId, token_type: 'refresh' },
        };
      }
    }
    return this.notFound(method, seg);
  }

  private tokenEndpoint(raw: string, headers: http.IncomingHttpHeaders): Reply {
    const oauthError = (status: string, message: string) =>
      new HubspotError(400, { status, message, correlationId: randomUUID(), requestId: randomUUID() });
    if (!String(headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
      throw oauthError('BAD_REQUEST', 'Content-Type must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(raw);
    const grant = form.get('grant_type');
    if (form.get('client_id') !== this.clientId) throw oauthError('BAD_CLIENT_ID', 'missing or invalid client id');
    if (form.get('client_secret') !== this.clientSecret) throw oauthError('BAD_CLIENT_SECRET', 'missing or invalid client secret');
    let scopes: string[];
    let user: string;
    let refresh: RefreshToken;
    if (grant === 'authorization_code') {
      const code = this.authCodes.get(form.get('code') ?? '');
      if (!code || code.used) throw oauthError('BAD_AUTH_CODE', 'missing or unknown auth code');
      const redirectUri = form.get('redirect_uri');
      if (!redirectUri || (code.redirectUri !== undefined && code.redirectUri !== redirectUri)) {
        throw oauthError('BAD_REDIRECT_URI', 'redirect_uri does not match initial redirect uri');
      }
      code.used = true;
      scopes = code.scopes;
      user = code.user;
      refresh = { token: randomUUID(), revoked: false, scopes, user, userId: 9_100_000 + this.refreshTokens.size };
      this.refreshTokens.set(refresh.token, refresh);
    } else if (grant === 'refresh_token') {
      const r = this.refreshTokens.get(form.get('refresh_token') ?? '');
      if (!r || r.revoked) throw oauthError('BAD_REFRESH_TOKEN', 'missing or invalid refresh token');
      refresh = r;
      scopes = r.scopes;
      user = r.user;
    } else {
      throw oauthError('BAD_GRANT_TYPE', `grant_type must be authorization_code or refresh_token; got ${grant ?? '(missing)'}`);
    }
    // Opaque like HubSpot's (region-prefixed) tokens; never reused.
    const access = `CN${randomUUID().replace(/-/g, '')}${randomUUID().replace(/-/g, '')}`;
    this.tokens.set(access, {
      token: access,
      kind: 'oauth',
      scopes,
      expiresAt: this.now() + this.accessTokenTtlMs,
      refreshToken: refresh.token,
      user,
      userId: refresh.userId,
    });
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        refresh_token: refresh.token,
        access_token: access,
        expires_in: Math.round(this.accessTokenTtlMs / 1000),
      },
    };
  }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(raw: string): unknown {
  if (raw.trim() === '') throw validationError('Invalid input JSON: request body is empty');
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw validationError(`Invalid input JSON on line 1: ${(err as Error).message}`);
  }
}

function intParam(q: URLSearchParams, name: string, dflt: number): number {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (!/^-?\d+$/.test(v)) throw validationError(`Invalid value for query parameter ${name}: ${v}`);
  return Number(v);
}

function assocParam(q: URLSearchParams): ObjectType[] {
  const out: ObjectType[] = [];
  for (const raw of q.getAll('associations')) {
    for (const a of raw.split(',')) {
      const t = a.trim();
      // Unknown association types are ignored, as documented.
      if ((t === 'contacts' || t === 'contact' || t === '0-1') && !out.includes('contacts')) out.push('contacts');
      if ((t === 'companies' || t === 'company' || t === '0-2') && !out.includes('companies')) out.push('companies');
    }
  }
  return out;
}

function lowerBound(records: StoredRecord[], num: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((records[mid] as StoredRecord).num < num) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** ms since epoch from "1700000000000", ISO datetime or "2024-01-01"; NaN otherwise. */
function parseDateValue(v: string): number {
  if (/^-?\d+$/.test(v)) return Number(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return NaN;
  return Date.parse(v);
}

/** Comparable key for a stored string value of this property (null when not comparable). */
function sortKey(def: PropertyDefinition): (v: string | undefined) => number | string | null {
  if (def.type === 'number') {
    return (v) => (v === undefined || v === '' ? null : Number(v));
  }
  if (def.type === 'datetime' || def.type === 'date') {
    return (v) => (v === undefined || v === '' ? null : parseDateValue(v));
  }
  // String-ish comparisons in HubSpot search are case-insensitive.
  return (v) => (v === undefined ? null : v.toLowerCase());
}

function encodeOffset(n: number): string {
  return Buffer.from(String(n)).toString('base64url');
}

function decodeOffset(after: string | null): number {
  if (!after) return 0;
  const n = Number(Buffer.from(after, 'base64url').toString('utf8'));
  if (!Number.isInteger(n) || n < 0) throw validationError(`Invalid 'after' paging cursor: ${after}`);
  return n;
}

/** Starts a fake HubSpot on 127.0.0.1 (random port). Pass `fake.url` as the SDK's basePath. */
export async function startFakeHubspot(options: FakeHubspotOptions = {}): Promise<FakeHubspot> {
  const server = http.createServer();
  const fake = new FakeHubspot(server, options);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void fake.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
