// Applying one page of source records to Pivotal: SourceLinks with content hashes decide
// created / updated / unchanged; unlinked records are matched by domain (first sync:
// several hits is an error, later duplicates are ignored); deletes and filter exits
// archive; every changed field becomes an Activity row (actor_type 'sync').
//
// Speed: what a page needs to know comes from a SyncIndex loaded through indexes for that
// page's records; new links, customers and contacts go in with insertMany, changes with one
// bulkWrite; an existing record is written only when its content hash changed.
//
// Crash safety: a new customer's SourceLink is inserted before the customer, with the
// customer's id chosen up front. A crash between the two leaves a link to a missing
// customer, which the next pass recreates; never a second customer. The link's unique
// index is what makes two concurrent passes over one record safe.
import { Types } from 'mongoose';
import { Customer, type CustomerStatus } from '../models/customer.ts';
import { Contact } from '../models/contact.ts';
import { Activity } from '../models/activity.ts';
import { connectionActor } from '../activity/activity.ts';
import { SourceLink, AmbiguousMatch, SyncError } from '../models/sync.ts';
import { createCustomers, derivedSearchFields } from '../customers/customers.ts';
import { isDuplicateKeyError } from '../errors.ts';
import { log } from '../log.ts';
import type { Connector, ConnectorContext, FieldMappingEntry, RecordKind, SourceRecord } from '../connectors/connector.ts';
import { contentHash, mapContact, mapCustomer, matchesByDomain, MATCH_PROBLEMS, type MappedCustomer } from './mapping.ts';
import { emptyCounts, recordSyncError, resolveSyncErrors, type Counts } from './runs.ts';
import { crmDecisions, decidedMatch } from './crm-ambiguous.ts';


export interface ApplyEnv {
  connection: { _id: Types.ObjectId; workspace_id: Types.ObjectId; provider: string; settings?: any; field_mapping?: any; first_full_sync_at?: Date | null };
  connector: Connector;
  ctx: ConnectorContext;
  run: { _id: Types.ObjectId } | null;
  workspace: { owner_email: string | null; members: { _id: Types.ObjectId; email: string; role: string }[]; plans: string[] };
  /** owner id → email, memoised for the run */
  ownerCache: Map<string, string | null>;
  /** the source object type customers come from (contacts' parents), e.g. company */
  customerObjectType?: string;
  /** run-wide index of a full walk; absent: each page loads what it touches */
  index?: SyncIndex;
}

export interface PreviewResult {
  object_type: string;
  external_id: string;
  name: string | null;
  domain: string | null;
  action: string;
  customer_id: string | null;
}

export interface PageOutcome {
  counts: Counts;
  results: PreviewResult[];
  /** customers whose status a mapped source field changed: events are emitted by the caller */
  statusChanges: { customerId: Types.ObjectId; from: string; to: string }[];
}

const SYNC_ACTOR = 'sync';
const COMPARED: (keyof MappedCustomer | 'owner_email')[] = ['name', 'domain', 'owner_email', 'plan', 'arr', 'industry', 'employee_count', 'last_activity_at'];
const ARCHIVED_BY_SOURCE = ['deleted_in_source', 'left_filter'];

export function mappingOf(env: ApplyEnv): FieldMappingEntry[] {
  const m = env.connection.field_mapping as FieldMappingEntry[] | null | undefined;
  return m && m.length ? m : env.connector.defaultMapping();
}

/** One SourceLink, compactly: 150k of these must fit comfortably in a worker's memory. */
export interface LinkEntry {
  target: string;
  /** the first 52 bits of content_hash, as a number (no string kept per link) */
  hash: number | null;
  mod: number | null;
  /** contact links: the target contact exists */
  live?: boolean;
}
interface CustomerEntry {
  domain: string | null;
  /** already linked to a record of this connection */
  linked: boolean;
  status: string;
  reason: string | null;
}

const shortHash = (h: string | null | undefined): number | null => (h ? Number.parseInt(h.slice(0, 13), 16) : null);
const linkKey = (objectType: string, externalId: string) => `${objectType}\n${externalId}`;
const hex = (id: unknown) => String(id);
const oid = (id: string) => new Types.ObjectId(id);
const BATCH = 5000;

/**
 * What applying needs to know about existing data: the connection's links, the
 * workspace's customers (domain → ids for matching), contacts and primaries, and open
 * SyncErrors, loaded per page for what its records touch and kept current as the page is
 * written.
 */
export class SyncIndex {
  /** object type → external id → link */
  links = new Map<string, Map<string, LinkEntry>>();
  customers = new Map<string, CustomerEntry>();
  byDomain = new Map<string, string[]>();
  primaries = new Set<string>();
  errors = new Map<string, { ignored: boolean; at: number | null }>();
  /** which record kinds the run-wide load has covered */
  readonly loaded = new Set<RecordKind>();
  readonly runWide: boolean;
  readonly connectionId: Types.ObjectId;
  readonly workspaceId: Types.ObjectId;

  constructor(conn: { _id: Types.ObjectId; workspace_id: Types.ObjectId }, runWide: boolean) {
    this.connectionId = conn._id;
    this.workspaceId = conn.workspace_id;
    this.runWide = runWide;
  }

  /** The whole connection/workspace, for a full walk: one scan per collection. */
  static async forRun(conn: { _id: Types.ObjectId; workspace_id: Types.ObjectId }): Promise<SyncIndex> {
    const idx = new SyncIndex(conn, true);
    await idx.addLinks({ connection_id: conn._id });
    await idx.addErrors({ connection_id: conn._id, resolved_at: null });
    return idx;
  }

  /** Loads what a run-wide index still lacks for this kind of record. */
  async ensureKind(kind: RecordKind): Promise<void> {
    if (!this.runWide || this.loaded.has(kind)) return;
    if (kind === 'customer') await this.addCustomers({ workspace_id: this.workspaceId });
    else await this.markLiveContacts({ workspace_id: this.workspaceId });
    this.loaded.add(kind);
  }

  /** Only what these records touch (single records, incremental pages). */
  async loadPage(kind: RecordKind, records: SourceRecord[], parentObjectType: string, domains: string[]): Promise<void> {
    if (this.runWide) return this.ensureKind(kind);
    const objectType = records[0]!.objectType;
    const ids = records.map((r) => r.externalId);
    await this.addLinks({ connection_id: this.connectionId, object_type: objectType, external_id: { $in: ids } });
    const targets = ids.map((id) => this.link(objectType, id)?.target).filter((t): t is string => !!t).map(oid);
    if (kind === 'customer') {
      await this.addErrors({ connection_id: this.connectionId, object_type: objectType, record_id: { $in: ids }, resolved_at: null });
      if (targets.length) await this.addCustomers({ _id: { $in: targets } });
      if (domains.length) await this.addCustomers({ workspace_id: this.workspaceId, domain: { $in: domains } });
    } else {
      const parentIds = [...new Set(records.flatMap((r) => r.parentExternalIds ?? []))];
      if (parentIds.length) await this.addLinks({ connection_id: this.connectionId, object_type: parentObjectType, external_id: { $in: parentIds } });
      if (targets.length) await this.markLiveContacts({ _id: { $in: targets } });
      const parents = parentIds.map((p) => this.link(parentObjectType, p)?.target).filter((t): t is string => !!t).map(oid);
      if (parents.length) await this.markLiveContacts({ customer_id: { $in: parents }, is_primary: true, archived_at: null });
    }
  }

  link(objectType: string, externalId: string): LinkEntry | undefined {
    return this.links.get(objectType)?.get(externalId);
  }

  setLink(objectType: string, externalId: string, entry: LinkEntry): void {
    let m = this.links.get(objectType);
    if (!m) this.links.set(objectType, (m = new Map()));
    m.set(externalId, entry);
  }

  addCustomer(id: string, entry: CustomerEntry): void {
    const prev = this.customers.get(id);
    if (prev?.domain && prev.domain !== entry.domain) this.byDomain.set(prev.domain, (this.byDomain.get(prev.domain) ?? []).filter((x) => x !== id));
    this.customers.set(id, entry);
    if (entry.domain && (!prev || prev.domain !== entry.domain)) this.byDomain.set(entry.domain, [...(this.byDomain.get(entry.domain) ?? []), id]);
  }

  dropCustomer(id: string): void {
    const prev = this.customers.get(id);
    if (!prev) return;
    this.customers.delete(id);
    if (prev.domain) this.byDomain.set(prev.domain, (this.byDomain.get(prev.domain) ?? []).filter((x) => x !== id));
  }

  private async each(model: any, filter: Record<string, unknown>, projection: Record<string, 1>, fn: (doc: any) => void): Promise<void> {
    const cursor = model.collection.find(filter, { projection, batchSize: BATCH });
    for await (const doc of cursor) fn(doc);
  }

  async addLinks(filter: Record<string, unknown>): Promise<void> {
    await this.each(SourceLink, filter, { object_type: 1, external_id: 1, target_id: 1, content_hash: 1, source_modified_at: 1 }, (l) =>
      this.setLink(l.object_type, l.external_id, { target: hex(l.target_id), hash: shortHash(l.content_hash), mod: l.source_modified_at ? new Date(l.source_modified_at).getTime() : null }),
    );
  }

  private async addCustomers(filter: Record<string, unknown>): Promise<void> {
    const conn = String(this.connectionId);
    await this.each(Customer, filter, { domain: 1, status: 1, archived_reason: 1, 'sources.connection_id': 1 }, (c) =>
      this.addCustomer(hex(c._id), {
        domain: c.domain ?? null,
        linked: (c.sources ?? []).some((s: any) => String(s.connection_id) === conn),
        status: c.status ?? 'active',
        reason: c.archived_reason ?? null,
      }),
    );
  }

  /** Marks the contact links whose contact exists (live) and notes customers with a primary contact. */
  private async markLiveContacts(filter: Record<string, unknown>): Promise<void> {
    const live = new Set<string>();
    await this.each(Contact, filter, { customer_id: 1, is_primary: 1, archived_at: 1 }, (c) => {
      live.add(hex(c._id));
      if (c.is_primary && !c.archived_at && c.customer_id) this.primaries.add(hex(c.customer_id));
    });
    if (live.size) for (const m of this.links.values()) for (const l of m.values()) if (live.has(l.target)) l.live = true;
  }

  private async addErrors(filter: Record<string, unknown>): Promise<void> {
    await this.each(SyncError, filter, { object_type: 1, record_id: 1, ignored: 1, ignored_source_modified_at: 1 }, (e) =>
      this.errors.set(linkKey(e.object_type, e.record_id), { ignored: !!e.ignored, at: e.ignored_source_modified_at ? new Date(e.ignored_source_modified_at).getTime() : null }),
    );
  }

  /** Ignored errors (not yet modified in the source) make the engine skip the record. */
  ignored(objectType: string, externalId: string): { at: number | null } | null {
    const e = this.errors.get(linkKey(objectType, externalId));
    return e?.ignored ? e : null;
  }

  /** Of these cleanly applied records, those with an open error (to resolve); forgets them. */
  takeResolved(objectType: string, externalIds: string[]): string[] {
    const out: string[] = [];
    for (const id of externalIds) if (this.errors.delete(linkKey(objectType, id))) out.push(id);
    return out;
  }

  noteError(objectType: string, externalId: string): void {
    if (!this.errors.has(linkKey(objectType, externalId))) this.errors.set(linkKey(objectType, externalId), { ignored: false, at: null });
  }

  /** Company links of this connection that are not among `seen` (external ids). */
}

/** Inserts documents in a single round trip; returns the indexes refused as duplicates. */
async function insertTolerant(model: any, docs: Record<string, unknown>[]): Promise<Set<number>> {
  const dup = new Set<number>();
  if (docs.length === 0) return dup;
  try {
    await model.collection.insertMany(docs, { ordered: false });
  } catch (e: any) {
    const errs: any[] = e?.writeErrors ?? (e?.code === 11000 ? [e] : null);
    if (!errs) throw e;
    for (const w of errs) {
      if ((w.code ?? w.err?.code) !== 11000) throw e;
      dup.add(w.index ?? w.err?.index ?? 0);
    }
  }
  return dup;
}

async function resolveOwners(env: ApplyEnv, ids: (string | null)[]): Promise<void> {
  const todo = [...new Set(ids.filter((x): x is string => !!x && !env.ownerCache.has(x)))];
  if (!env.connector.resolveOwnerEmail) return;
  for (const id of todo) env.ownerCache.set(id, await env.connector.resolveOwnerEmail(env.ctx, id));
}

/**
 * The customer's owner is the source's owner: a Pivotal member when their email matches
 * one, else just their email (no member id, so no one else's book claims the customer).
 * Only a record without a resolvable owner falls back to the workspace owner.
 */
function ownerFor(env: ApplyEnv, sourceOwnerId: string | null): { owner_email: string | null; owner_member_id: Types.ObjectId | null } {
  const email = sourceOwnerId ? (env.ownerCache.get(sourceOwnerId)?.toLowerCase() ?? null) : null;
  const member = email ? env.workspace.members.find((m) => m.email === email) : undefined;
  if (member) return { owner_email: member.email, owner_member_id: member._id };
  if (email) return { owner_email: email, owner_member_id: null };
  const owner = env.workspace.members.find((m) => m.role === 'owner');
  return { owner_email: owner?.email ?? null, owner_member_id: owner?._id ?? null };
}

function customerFields(m: MappedCustomer, owner: ReturnType<typeof ownerFor>, rec: SourceRecord): Record<string, unknown> {
  return {
    name: m.name ?? m.domain ?? `Company ${rec.externalId}`,
    domain: m.domain,
    owner_email: owner.owner_email,
    owner_member_id: owner.owner_member_id,
    plan: m.plan,
    arr: m.arr,
    industry: m.industry,
    employee_count: m.employee_count,
    last_activity_at: m.last_activity_at,
  };
}

const same = (a: unknown, b: unknown) => (a instanceof Date || b instanceof Date ? new Date(a as any).getTime() === new Date(b as any).getTime() : JSON.stringify(a ?? null) === JSON.stringify(b ?? null));

/** The run's index, or one loaded for just these records. */
async function indexFor(env: ApplyEnv, kind: RecordKind, records: SourceRecord[], domains: () => string[]): Promise<SyncIndex> {
  const idx = env.index ?? new SyncIndex(env.connection, false);
  await idx.loadPage(kind, records, env.customerObjectType ?? 'company', idx.runWide ? [] : domains());
  return idx;
}

/** Links the database refused as duplicates exist already (another writer): learn them. */
async function relearnLinks(idx: SyncIndex, conn: ApplyEnv['connection'], objectType: string, externalIds: string[]): Promise<void> {
  if (externalIds.length) await idx.addLinks({ connection_id: conn._id, object_type: objectType, external_id: { $in: externalIds } });
}

export async function applyCustomerPage(env: ApplyEnv, records: SourceRecord[]): Promise<PageOutcome> {
  const counts = emptyCounts();
  const results: PreviewResult[] = [];
  const statusChanges: PageOutcome['statusChanges'] = [];
  if (records.length === 0) return { counts, results, statusChanges };
  const conn = env.connection;
  const objectType = records[0]!.objectType;
  const mapping = mappingOf(env);
  const byDomain = matchesByDomain(conn.settings);
  const firstSync = !conn.first_full_sync_at;
  const now = new Date();
  const runId = env.run?._id ?? null;

  const mapped = records.map((r) => mapCustomer(r, mapping, env.workspace.plans));
  await resolveOwners(env, mapped.map((m) => m.owner_source_id));
  const idx = await indexFor(env, 'customer', records, () => (byDomain ? [...new Set(mapped.map((m) => m.domain).filter((d): d is string => !!d))] : []));
  const hashes = records.map((rec, i) => contentHash([mapped[i], rec.deleted ?? false, rec.outOfScope ?? false]));

  // Full documents only for linked records whose content changed.
  const changed: Types.ObjectId[] = [];
  records.forEach((rec, i) => {
    const link = idx.link(objectType, rec.externalId);
    if (!link || rec.deleted || rec.outOfScope) return;
    const c = idx.customers.get(link.target);
    if (c && (link.hash !== shortHash(hashes[i]) || (c.status === 'archived' && ARCHIVED_BY_SOURCE.includes(c.reason ?? '')))) changed.push(oid(link.target));
  });
  const docs = new Map(changed.length ? (await Customer.find({ _id: { $in: changed } }).lean()).map((c) => [String(c._id), c]) : []);

  const newLinks: Record<string, unknown>[] = [];
  const newLinkKeys: { externalId: string; target: string; customer: string | null }[] = [];
  const newCustomers: { link: number; doc: Record<string, unknown> }[] = [];
  const linkUpdates: any[] = [];
  const customerUpdates: any[] = [];
  const activities: Record<string, unknown>[] = [];
  const clean: string[] = [];
  const ambiguous: { domain: string; customer_id: Types.ObjectId | null; candidates: unknown[]; records: unknown[] }[] = [];
  // An admin's decisions for domains that were ambiguous (core/sync/crm-ambiguous.ts).
  const decisions = await crmDecisions(conn._id, byDomain ? [...new Set(mapped.filter((m, i) => m.domain && !idx.link(objectType, records[i]!.externalId)).map((m) => m.domain!))] : []);

  const activity = (customerId: Types.ObjectId, event_type: string, field: string | null, old_value: unknown, new_value: unknown) =>
    activities.push({ workspace_id: conn.workspace_id, customer_id: customerId, actor: connectionActor(conn), actor_type: SYNC_ACTOR, event_type, field, old_value: old_value ?? null, new_value: new_value ?? null, at: now });
  const sourceRef = (rec: SourceRecord) => ({ connection_id: conn._id, provider: conn.provider, object_type: rec.objectType, external_id: rec.externalId, url: rec.url ?? null });
  const updateLink = (rec: SourceRecord, link: LinkEntry, hash: string, extra: Record<string, unknown> = {}) => {
    linkUpdates.push({ updateOne: { filter: { connection_id: conn._id, object_type: objectType, external_id: rec.externalId }, update: { $set: { content_hash: hash, source_modified_at: rec.modifiedAt, last_run_id: runId, ...extra } } } });
    link.hash = shortHash(hash);
    link.mod = rec.modifiedAt?.getTime() ?? null;
  };

  for (let i = 0; i < records.length; i++) {
    const rec = records[i]!;
    const m = mapped[i]!;
    const hash = hashes[i]!;
    const link = idx.link(objectType, rec.externalId);
    const result = (action: string, customerId: Types.ObjectId | string | null) => results.push({ object_type: objectType, external_id: rec.externalId, name: m.name, domain: m.domain, action, customer_id: customerId ? String(customerId) : null });

    const ignored = idx.ignored(objectType, rec.externalId);
    if (ignored && (!rec.modifiedAt || ignored.at === null || rec.modifiedAt.getTime() <= ignored.at)) {
      counts.skipped++;
      result('ignored', null);
      continue;
    }
    // Out-of-order deliveries: the newest source state wins.
    if (link?.mod != null && rec.modifiedAt && rec.modifiedAt.getTime() < link.mod) {
      counts.unchanged++;
      result('stale', link.target);
      continue;
    }
    const gone = rec.deleted || rec.outOfScope;
    const entry = link ? idx.customers.get(link.target) : undefined;

    if (gone) {
      if (link && entry && entry.status !== 'archived') {
        const reason = rec.deleted ? 'deleted_in_source' : 'left_filter';
        const id = oid(link.target);
        customerUpdates.push({ updateOne: { filter: { _id: id }, update: { $set: { status: 'archived', status_changed_at: now, archived_at: now, archived_reason: reason, last_synced_at: now } } } });
        activity(id, 'archived', 'status', entry.status, 'archived');
        statusChanges.push({ customerId: id, from: entry.status, to: 'archived' });
        entry.status = 'archived';
        entry.reason = reason;
        counts.archived++;
        result('archived', id);
      } else {
        counts.skipped++;
        result('skipped_gone', link?.target ?? null);
      }
      if (link) updateLink(rec, link, hash);
      clean.push(rec.externalId);
      continue;
    }

    const owner = ownerFor(env, m.owner_source_id);
    const fields = customerFields(m, owner, rec);

    if (link && entry) {
      const customer = docs.get(link.target);
      if (!customer) {
        // Same content as last time (and not archived by the source): nothing to write.
        counts.unchanged++;
        clean.push(rec.externalId);
        result('unchanged', link.target);
        continue;
      }
      const wasArchivedBySource = customer.status === 'archived' && ARCHIVED_BY_SOURCE.includes(customer.archived_reason ?? '');
      const set: Record<string, unknown> = { last_synced_at: now };
      for (const k of COMPARED) {
        const next = k === 'owner_email' ? fields.owner_email : fields[k as string];
        if (!same((customer as any)[k], next)) {
          set[k] = next;
          activity(customer._id, 'field_changed', k, (customer as any)[k], next);
        }
      }
      if (!same(customer.owner_member_id, fields.owner_member_id)) set.owner_member_id = fields.owner_member_id;
      if (set.name !== undefined || set.domain !== undefined) Object.assign(set, derivedSearchFields(String(fields.name), fields.domain as string | null));
      if (Object.keys(m.custom_fields).length && !same(customer.custom_fields, { ...customer.custom_fields, ...m.custom_fields })) {
        set.custom_fields = { ...customer.custom_fields, ...m.custom_fields };
        activity(customer._id, 'field_changed', 'custom_fields', customer.custom_fields, set.custom_fields);
      }
      if (m.tags.length && m.tags.some((t) => !customer.tags.includes(t))) set.tags = [...new Set([...customer.tags, ...m.tags])];
      let nextStatus: CustomerStatus | null = m.status && m.status !== customer.status ? m.status : null;
      if (!nextStatus && wasArchivedBySource) nextStatus = 'active';
      if (nextStatus) {
        set.status = nextStatus;
        set.status_changed_at = now;
        if (customer.status === 'archived') Object.assign(set, { archived_at: null, archived_reason: null });
        activity(customer._id, 'status_changed', 'status', customer.status, nextStatus);
        statusChanges.push({ customerId: customer._id, from: customer.status, to: nextStatus });
      }
      customerUpdates.push({ updateOne: { filter: { _id: customer._id }, update: { $set: set } } });
      updateLink(rec, link, hash);
      idx.addCustomer(link.target, { domain: (set.domain !== undefined ? (set.domain as string | null) : entry.domain), linked: true, status: nextStatus ?? customer.status, reason: nextStatus ? null : entry.reason });
      clean.push(rec.externalId);
      counts[Object.keys(set).length > 1 ? 'updated' : 'unchanged']++;
      result(Object.keys(set).length > 1 ? 'updated' : 'unchanged', customer._id);
      continue;
    }

    const createDoc = (id: Types.ObjectId) => ({
      _id: id,
      ...fields,
      status: m.status ?? 'active',
      source_created_at: m.source_created_at,
      custom_fields: m.custom_fields,
      tags: m.tags,
      sources: [sourceRef(rec)],
      last_synced_at: now,
    });

    if (link && !entry) {
      // Linked customer deleted in Pivotal: recreate it and re-point the link.
      const id = new Types.ObjectId();
      updateLink(rec, link, hash, { target_id: id });
      link.target = String(id);
      newCustomers.push({ link: -1, doc: createDoc(id) });
      idx.addCustomer(String(id), { domain: m.domain, linked: true, status: m.status ?? 'active', reason: null });
      clean.push(rec.externalId);
      result('recreated', id);
      continue;
    }

    // Not linked yet: match.
    // Each record counts once: a record without its match key is skipped (as validate
    // counts it), and its SyncError says what validate's problem list says.
    if (byDomain && !m.domain) {
      counts.skipped++;
      await recordSyncError({ connection: conn, run: env.run, objectType, recordId: rec.externalId, error: new Error(MATCH_PROBLEMS.noDomain), sourceModifiedAt: rec.modifiedAt });
      idx.noteError(objectType, rec.externalId);
      result('skipped_no_match_key', null);
      continue;
    }
    const hits = byDomain ? (idx.byDomain.get(m.domain!) ?? []) : [];
    const decided = decidedMatch(decisions.get(m.domain ?? ''), hits);
    if (decided === 'skip') {
      counts.skipped++;
      clean.push(rec.externalId);
      result('skipped_by_admin', null);
      continue;
    }
    const free = decided?.free ?? hits.filter((h) => !idx.customers.get(h)?.linked);
    const mine = decided?.mine ?? hits.filter((h) => idx.customers.get(h)?.linked);
    const recordRef = { external_id: rec.externalId, name: m.name ?? null, url: rec.url ?? null };
    if (free.length > 1) {
      if (firstSync) {
        counts.ambiguous++;
        ambiguous.push({ domain: m.domain!, customer_id: null, candidates: free, records: [recordRef] });
        await recordSyncError({ connection: conn, run: env.run, objectType, recordId: rec.externalId, error: new Error(MATCH_PROBLEMS.severalCustomers(free.length)), sourceModifiedAt: rec.modifiedAt });
        idx.noteError(objectType, rec.externalId);
        result('ambiguous', null);
      } else {
        counts.skipped++;
        result('skipped_duplicate', null);
      }
      continue;
    }
    if (free.length === 0 && mine.length > 0) {
      // The domain already belongs to another record of this source: later duplicates are ignored.
      counts.skipped++;
      ambiguous.push({ domain: m.domain!, customer_id: oid(mine[0]!), candidates: [rec.externalId], records: [recordRef] });
      result('skipped_duplicate', mine[0]!);
      continue;
    }
    const linkDoc = {
      _id: new Types.ObjectId(), workspace_id: conn.workspace_id, connection_id: conn._id, object_type: objectType, external_id: rec.externalId,
      target_type: 'customer', content_hash: hash, source_modified_at: rec.modifiedAt, last_run_id: runId, createdAt: now, updatedAt: now,
    };
    if (free.length === 1) {
      const target = oid(free[0]!);
      newLinks.push({ ...linkDoc, target_id: target });
      newLinkKeys.push({ externalId: rec.externalId, target: free[0]!, customer: null });
      const prev = idx.customers.get(free[0]!)!;
      idx.addCustomer(free[0]!, { ...prev, linked: true, domain: m.domain });
      const set: Record<string, unknown> = { ...fields, ...derivedSearchFields(String(fields.name), fields.domain as string | null), last_synced_at: now };
      customerUpdates.push({ updateOne: { filter: { _id: target }, update: { $set: set, $push: { sources: sourceRef(rec) } } } });
      activity(target, 'linked', null, null, `${conn.provider} ${rec.objectType} ${rec.externalId}`);
      counts.matched++;
      clean.push(rec.externalId);
      result('matched', target);
    } else {
      const id = new Types.ObjectId();
      const idHex = id.toHexString();
      newLinks.push({ ...linkDoc, target_id: id });
      newLinkKeys.push({ externalId: rec.externalId, target: idHex, customer: idHex });
      newCustomers.push({ link: newLinks.length - 1, doc: createDoc(id) });
      idx.addCustomer(idHex, { domain: m.domain, linked: true, status: m.status ?? 'active', reason: null });
      clean.push(rec.externalId);
      result('created', id);
    }
  }

  // Writes, in crash-safe order: links, then customers, then the rest.
  const refusedLinks = await insertTolerant(SourceLink, newLinks);
  newLinks.forEach((l, i) => {
    if (refusedLinks.has(i)) return;
    idx.setLink(objectType, String(l.external_id), { target: newLinkKeys[i]!.target, hash: shortHash(l.content_hash as string), mod: (l.source_modified_at as Date | null)?.getTime() ?? null });
  });
  // Another writer linked these first: its customer stands; ours is not created.
  for (const i of refusedLinks) if (newLinkKeys[i]?.customer) idx.dropCustomer(newLinkKeys[i]!.customer!);
  await relearnLinks(idx, conn, objectType, [...refusedLinks].map((i) => newLinkKeys[i]!.externalId));
  const toCreate = newCustomers.filter((c) => c.link < 0 || !refusedLinks.has(c.link));
  if (toCreate.length) {
    const created = await createCustomers(conn.workspace_id, toCreate.map((c) => c.doc as any));
    for (const c of created) activity(c._id, 'created', null, null, c.name);
    counts.created += created.length;
  }
  counts.unchanged += newCustomers.length - toCreate.length;
  if (customerUpdates.length) await Customer.bulkWrite(customerUpdates, { ordered: false });
  if (linkUpdates.length) await SourceLink.bulkWrite(linkUpdates, { ordered: false });
  if (activities.length) await Activity.collection.insertMany(activities, { ordered: false });
  for (const a of ambiguous) {
    try {
      await AmbiguousMatch.create({ workspace_id: conn.workspace_id, connection_id: conn._id, ...a });
    } catch (e) {
      if (!isDuplicateKeyError(e)) throw e;
      await AmbiguousMatch.updateOne({ connection_id: conn._id, domain: a.domain }, { $addToSet: { candidates: { $each: a.candidates }, records: { $each: a.records } } });
    }
  }
  await resolveSyncErrors(conn._id, objectType, idx.takeResolved(objectType, clean));
  return { counts, results, statusChanges };
}

export async function applyContactPage(env: ApplyEnv, records: SourceRecord[]): Promise<PageOutcome> {
  const counts = emptyCounts();
  const results: PreviewResult[] = [];
  if (records.length === 0) return { counts, results, statusChanges: [] };
  const conn = env.connection;
  const objectType = records[0]!.objectType;
  const parentType = env.customerObjectType ?? 'company';
  const now = new Date();
  const runId = env.run?._id ?? null;
  const idx = await indexFor(env, 'contact', records, () => []);

  const prepared = records.map((rec) => {
    const m = mapContact(rec);
    const parentExt = (rec.parentExternalIds ?? []).find((p) => idx.link(parentType, p));
    const customerId = parentExt ? idx.link(parentType, parentExt)!.target : null;
    return { rec, m, customerId, hash: contentHash([m, String(customerId), rec.deleted ?? false]), link: idx.link(objectType, rec.externalId) };
  });
  // Full documents only for linked contacts that changed (or were deleted).
  const wanted = prepared.filter((p) => p.link?.live && (p.rec.deleted || p.link.hash !== shortHash(p.hash))).map((p) => oid(p.link!.target));
  const docs = new Map(wanted.length ? (await Contact.find({ _id: { $in: wanted } }).lean()).map((c) => [String(c._id), c]) : []);

  const newLinks: Record<string, unknown>[] = [];
  const newContacts: { link: number; externalId: string; doc: Record<string, unknown> }[] = [];
  const updates: any[] = [];
  const linkUpdates: any[] = [];

  for (const { rec, m, customerId, hash, link } of prepared) {
    const exists = !!link?.live;
    const push = (action: string) => results.push({ object_type: objectType, external_id: rec.externalId, name: m.name, domain: null, action, customer_id: customerId });
    const linkSet = { content_hash: hash, source_modified_at: rec.modifiedAt, last_run_id: runId };
    const updateLink = (extra: Record<string, unknown> = {}) => {
      linkUpdates.push({ updateOne: { filter: { connection_id: conn._id, object_type: objectType, external_id: rec.externalId }, update: { $set: { ...linkSet, ...extra } } } });
      link!.hash = shortHash(hash);
      link!.mod = rec.modifiedAt?.getTime() ?? null;
    };

    if (link?.mod != null && rec.modifiedAt && rec.modifiedAt.getTime() < link.mod) {
      counts.unchanged++;
      push('stale');
      continue;
    }
    if (rec.deleted) {
      const existing = link ? docs.get(link.target) : undefined;
      if (existing && !existing.archived_at) {
        updates.push({ updateOne: { filter: { _id: existing._id }, update: { $set: { archived_at: now, is_primary: false } } } });
        counts.archived++;
      } else counts.skipped++;
      if (link) updateLink();
      push('archived');
      continue;
    }
    if (link && exists && link.hash === shortHash(hash)) {
      counts.unchanged++;
      push('unchanged');
      continue;
    }
    if (!customerId) {
      // A contact whose company is not synced (filtered out, or no company) has no customer to belong to.
      counts.skipped++;
      push('skipped_no_customer');
      continue;
    }
    const primary = !idx.primaries.has(customerId);
    const existing = link && exists ? docs.get(link.target) : undefined;
    if (link && existing) {
      const set: Record<string, unknown> = { ...m, customer_id: oid(customerId), archived_at: null };
      if (String(existing.customer_id) !== customerId) set.is_primary = primary;
      if (set.is_primary) idx.primaries.add(customerId);
      updates.push({ updateOne: { filter: { _id: existing._id }, update: { $set: set } } });
      updateLink();
      counts.updated++;
      push('updated');
      continue;
    }
    const id = new Types.ObjectId();
    if (link) {
      updateLink({ target_id: id });
      link.target = String(id);
      link.live = false;
    } else {
      newLinks.push({ _id: new Types.ObjectId(), workspace_id: conn.workspace_id, connection_id: conn._id, object_type: objectType, external_id: rec.externalId, target_type: 'contact', target_id: id, ...linkSet, createdAt: now, updatedAt: now });
    }
    newContacts.push({ link: link ? -1 : newLinks.length - 1, externalId: rec.externalId, doc: { _id: id, workspace_id: conn.workspace_id, customer_id: oid(customerId), ...m, is_primary: primary, archived_at: null, createdAt: now, updatedAt: now } });
    idx.primaries.add(customerId);
    push('created');
  }
  const refused = await insertTolerant(SourceLink, newLinks);
  newLinks.forEach((l, i) => {
    if (refused.has(i)) return;
    idx.setLink(objectType, String(l.external_id), { target: String(l.target_id), hash: shortHash(l.content_hash as string), mod: (l.source_modified_at as Date | null)?.getTime() ?? null });
  });
  await relearnLinks(idx, conn, objectType, [...refused].map((i) => String(newLinks[i]!.external_id)));
  const toInsert = newContacts.filter((c) => c.link < 0 || !refused.has(c.link));
  if (toInsert.length) await Contact.collection.insertMany(toInsert.map((c) => c.doc) as any[], { ordered: false });
  for (const c of toInsert) {
    const l = idx.link(objectType, c.externalId);
    if (l) l.live = true;
  }
  counts.created += toInsert.length;
  if (updates.length) await Contact.bulkWrite(updates, { ordered: false });
  if (linkUpdates.length) await SourceLink.bulkWrite(linkUpdates, { ordered: false });
  return { counts, results, statusChanges: [] };
}

/**
 * Archives the customers of this connection that a complete walk did not see (missed
 * deletes). `seen` holds every external id the walk returned; the index knows the links.
 */
export async function archiveUnseen(env: ApplyEnv, objectType: string, runId: Types.ObjectId): Promise<number> {
  const conn = env.connection;
  const idx = env.index;
  const unseen = await SourceLink.find({ connection_id: conn._id, object_type: objectType, target_type: 'customer', seen_run_id: { $ne: runId } }, { target_id: 1 }).lean();
  const customerIds = unseen.map((l) => l.target_id);
  if (customerIds.length === 0) return 0;
  const live = await Customer.find({ _id: { $in: customerIds }, status: { $ne: 'archived' } }, { _id: 1, status: 1 }).lean();
  if (live.length === 0) return 0;
  const now = new Date();
  await Customer.updateMany({ _id: { $in: live.map((c) => c._id) } }, { $set: { status: 'archived', status_changed_at: now, archived_at: now, archived_reason: 'deleted_in_source' } });
  await Activity.insertMany(live.map((c) => ({ workspace_id: conn.workspace_id, customer_id: c._id, actor: connectionActor(conn), actor_type: SYNC_ACTOR, event_type: 'archived', field: 'status', old_value: c.status, new_value: 'archived', at: now })));
  for (const c of live) {
    const e = idx?.customers.get(String(c._id));
    if (e) Object.assign(e, { status: 'archived', reason: 'deleted_in_source' });
  }
  log.info({ connection_id: String(conn._id), archived: live.length }, 'reconcile archived customers missing from the source');
  return live.length;
}
