// The one small interface every provider (HubSpot, Salesforce, Stripe) implements, so
// the sync engine never sees a provider SDK type. Providers differ in data (what their
// records look like, how they page, how they sign webhooks); the engine owns behaviour
// (checkpoints, matching, archiving, errors, fairness, echo suppression).
import type { Logger } from 'pino';
import type { Provider } from '../models/connection.ts';
import type { BillingScope } from '../billing/mrr.ts';
import type { BillingSourceCustomer } from '../billing/apply.ts';

/** What kind of Pivotal record a source record becomes. */
export type RecordKind = 'customer' | 'contact';

export interface SourceRecord {
  kind: RecordKind;
  /** the provider's object name: company, contact, account, customer … */
  objectType: string;
  externalId: string;
  /** the source's last-modified stamp: newest source state wins */
  modifiedAt: Date | null;
  /** deleted (or archived) in the source */
  deleted?: boolean;
  /** outside the connection's source filter (list, lifecycle stage, …): archived, not deleted */
  outOfScope?: boolean;
  /** why, when validation should list it as a problem record (e.g. no subscription in the scope) */
  outOfScopeReason?: string;
  /** raw provider fields, as the source names them (mapped by the engine) */
  fields: Record<string, unknown>;
  /** contact → the customer record(s) it belongs to, by external id */
  parentExternalIds?: string[];
  /** deep link to the record in the provider's UI */
  url?: string | null;
}

export interface Page<T = SourceRecord> {
  records: T[];
  /** opaque cursor for the next page; null at the end */
  nextCursor: string | null;
  /** total records when the provider says (progress bars) */
  total?: number | null;
}

export interface PullRequest {
  kind: RecordKind;
  /** resume point from the previous page (or checkpoint) */
  cursor: string | null;
  /** incremental: only records modified at or after this instant */
  since?: Date | null;
  pageSize?: number;
  /** source fields the engine's mapping needs (in addition to the connector's own) */
  fields?: string[];
  signal?: AbortSignal;
}

export type ConnectorErrorCode = 'auth_expired' | 'rate_limited' | 'cursor_invalid' | 'temporary' | 'permanent' | 'quota_exhausted';

/**
 * Provider errors, classified into the few codes that decide what the engine does:
 * auth_expired → refresh once, then mark the connection `reauthorize`;
 * rate_limited → wait retryAfterMs and retry; quota_exhausted → pause until resumeAt;
 * cursor_invalid → restart the walk from scratch; temporary → back off and retry;
 * permanent → record a SyncError for that record and move on.
 */
export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  readonly retryAfterMs?: number;
  readonly resumeAt?: Date;
  readonly status?: number;
  /** the provider's response body (secrets stripped), kept on SyncErrors */
  readonly providerResponse?: string;
  constructor(code: ConnectorErrorCode, message: string, extra: { retryAfterMs?: number; resumeAt?: Date; status?: number; providerResponse?: string } = {}) {
    super(message);
    this.name = 'ConnectorError';
    this.code = code;
    this.retryAfterMs = extra.retryAfterMs;
    this.resumeAt = extra.resumeAt;
    this.status = extra.status;
    this.providerResponse = extra.providerResponse;
  }
}

/** Decrypted credentials of a connection (stored encrypted on Connection.credentials). */
export interface Credentials {
  accessToken: string;
  refreshToken?: string | null;
  /** epoch ms */
  expiresAt?: number | null;
  instanceUrl?: string | null;
  accountId?: string | null;
  [extra: string]: unknown;
}

export interface ConnectorContext {
  connectionId: string;
  workspaceId: string;
  settings: Record<string, unknown>;
  /** current credentials; refreshed transparently by the engine's auth wrapper */
  credentials(): Credentials;
  /** persist refreshed credentials (encrypted) */
  saveCredentials(next: Credentials): Promise<void>;
  log: Logger;
}

export interface PropertyInfo {
  name: string;
  label: string;
  type: 'string' | 'number' | 'date' | 'datetime' | 'bool' | 'enumeration';
  options?: string[];
  readOnly?: boolean;
}

/** Pivotal field ← source field. Targets: name, domain, owner, plan, status, arr, industry,
 * employee_count, created_at, last_activity_at, custom:<key>, tag:<tag>. */
export interface FieldMappingEntry {
  target: string;
  source: string;
  /** custom fields are typed */
  type?: 'string' | 'number' | 'date' | 'select';
  options?: string[];
}

export interface Writeback {
  status?: string;
  ownerEmail?: string | null;
  plan?: string | null;
  name?: string;
}

/** One record's Pivotal-owned changes, for a batched writeback. */
export interface WritebackItem {
  externalId: string;
  changes: Writeback;
}

/** What the source said about one item of a batched writeback (a refusal is that record's alone). */
export interface WritebackResult {
  externalId: string;
  ok: boolean;
  error?: ConnectorError;
}

export interface WebhookRequest {
  method: string;
  /** the full URL the provider called (signature schemes sign it) */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

/** A verified, parsed provider event: enough to dedupe and to know what to re-read. */
export interface WebhookEvent {
  eventId: string;
  /** the provider account the event is for (HubSpot portal id, Stripe account) */
  accountId?: string | null;
  type: string;
  kind: RecordKind | 'billing';
  externalId: string;
  occurredAt: Date;
  deleted?: boolean;
  /** provider snapshot when the event carries one (Stripe); the engine may re-read instead */
  payload?: unknown;
}

export interface OAuthSupport {
  /** readOnly: ask only for read access (Stripe as billing signal never writes) */
  authorizeUrl(input: { state: string; redirectUri: string; mode?: 'live' | 'test'; readOnly?: boolean }): string;
  exchangeCode(input: { code: string; redirectUri: string }): Promise<Credentials>;
  refresh(credentials: Credentials): Promise<Credentials>;
}

export interface Connector {
  provider: Provider;
  /** what the provider can do as a customer source */
  capabilities: {
    contacts: boolean;
    customFields: boolean;
    writeback: (keyof Writeback)[];
    /** how many queued writebacks one drain step hands the connector (its batch API's size); 1 by default */
    writebackBatchSize?: number;
    webhooks: boolean;
    /** polling interval for incremental updates when there are no webhooks */
    pollEveryMinutes?: number;
  };
  oauth?: OAuthSupport;
  /** the objectType of the records that become customers (contacts' parents), when not `company` */
  customerObjectType?: string;
  /** the default field mapping for customers */
  defaultMapping(): FieldMappingEntry[];
  /**
   * Checks an admin's source filter against the source's own schema before it is saved:
   * the problem (naming the field, operator or value), or null when the filter is usable.
   */
  checkFilter?(ctx: ConnectorContext, filter: unknown): Promise<string | null>;
  /** the source's real properties, for the mapping editor */
  listProperties(ctx: ConnectorContext, kind: RecordKind): Promise<PropertyInfo[]>;
  /** one page of records (full walk when since is null, else incremental) */
  pull(ctx: ConnectorContext, req: PullRequest): Promise<Page>;
  /** one record by id (per-customer resync, webhook re-read); null when gone */
  fetchOne(ctx: ConnectorContext, kind: RecordKind, externalId: string): Promise<SourceRecord | null>;
  /** many records by id in few calls (the re-read after a batched writeback); the gone ones are left out */
  fetchMany?(ctx: ConnectorContext, kind: RecordKind, externalIds: string[]): Promise<SourceRecord[]>;
  /** the source's owner id → email (for owner resolution) */
  resolveOwnerEmail?(ctx: ConnectorContext, ownerId: string): Promise<string | null>;
  /** the source's owner id for an email (writeback of owner) */
  findOwnerId?(ctx: ConnectorContext, email: string): Promise<string | null>;
  /** write Pivotal-owned changes to the source record; never creates records */
  writeback?(ctx: ConnectorContext, externalId: string, changes: Writeback): Promise<{ modifiedAt: Date | null }>;
  /** the same for up to writebackBatchSize records in one call; per-record refusals come back as results */
  writebackMany?(ctx: ConnectorContext, items: WritebackItem[]): Promise<WritebackResult[]>;
  /** true when the request is authentic and fresh */
  verifyWebhook?(req: WebhookRequest, secret: string): boolean;
  parseWebhook?(req: WebhookRequest): WebhookEvent[];
  /** billing reads (Stripe): customers with their in-scope subscriptions and invoices; read only */
  billing?: BillingReads;
}

/** What a billing source reads for the engine's billing runs; matching and writing are the engine's. */
export interface BillingReads {
  /** the whole account: customers with a subscription in scope (billed) and the others */
  readBook(ctx: ConnectorContext, scope: BillingScope, opts: { signal?: AbortSignal; onPage?: (done: number) => Promise<void> }): Promise<{ billed: BillingSourceCustomer[]; unsubscribed: BillingSourceCustomer[] }>;
  /** a reader of single customers (null when deleted), sharing what one batch needs (product names) */
  customerReader(ctx: ConnectorContext, scope: BillingScope): Promise<(id: string) => Promise<BillingSourceCustomer | null>>;
}
