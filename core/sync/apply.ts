// Applying pages of source records to Pivotal: what every page shares (the SyncIndex,
// owners, tolerant inserts), contact pages, and reconcile's archive of unseen customers.
// Customer pages are planned then written in customer-page.ts. SourceLinks with content
// hashes decide created / updated / unchanged; unlinked records are matched by domain
// (first sync: several hits is an error, later duplicates are ignored); deletes and filter
// exits archive; every changed field becomes an Activity row (actor_type 'sync').
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
import { Customer } from '../models/customer.ts';
import { Contact } from '../models/contact.ts';
import { Activity } from '../models/activity.ts';
import { connectionActor } from '../activity/activity.ts';
import { SourceLink, SyncError } from '../models/sync.ts';
import { log } from '../log.ts';
import type { Connector, ConnectorContext, FieldMappingEntry, RecordKind, SourceRecord } from '../connectors/connector.ts';
import { contentHash, mapContact, type MappedCustomer } from './mapping.ts';
import { emptyCounts, type Counts } from './runs.ts';

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
export interface CustomerEntry {
  domain: string | null;
  /** already linked to a record of this connection */
  linked: boolean;
  status: string;
  reason: string | null;
}

export const shortHash = (h: string | null | undefined): number | null => (h ? Number.parseInt(h.slice(0, 13), 16) : null);
const linkKey = (objectType: string, externalId: string) => `${objectType}\n${externalId}`;
const hex = (id: unknown) => String(id);
export const oid = (id: string) => new Types.ObjectId(id);
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
export async function insertTolerant(model: any, docs: Record<string, unknown>[]): Promise<Set<number>> {
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

export async function resolveOwners(env: ApplyEnv, ids: (string | null)[]): Promise<void> {
  const todo = [...new Set(ids.filter((x): x is string => !!x && !env.ownerCache.has(x)))];
  if (!env.connector.resolveOwnerEmail) return;
  for (const id of todo) env.ownerCache.set(id, await env.connector.resolveOwnerEmail(env.ctx, id));
}

/**
 * The customer's owner is the source's owner: a Pivotal member when their email matches
 * one, else just their email (no member id, so no one else's book claims the customer).
 * Only a record without a resolvable owner falls back to the workspace owner.
 */
export function ownerFor(env: ApplyEnv, sourceOwnerId: string | null): { owner_email: string | null; owner_member_id: Types.ObjectId | null } {
  const email = sourceOwnerId ? (env.ownerCache.get(sourceOwnerId)?.toLowerCase() ?? null) : null;
  const member = email ? env.workspace.members.find((m) => m.email === email) : undefined;
  if (member) return { owner_email: member.email, owner_member_id: member._id };
  if (email) return { owner_email: email, owner_member_id: null };
  const owner = env.workspace.members.find((m) => m.role === 'owner');
  return { owner_email: owner?.email ?? null, owner_member_id: owner?._id ?? null };
}

export function customerFields(m: MappedCustomer, owner: ReturnType<typeof ownerFor>, rec: SourceRecord): Record<string, unknown> {
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

export const same = (a: unknown, b: unknown) => (a instanceof Date || b instanceof Date ? new Date(a as any).getTime() === new Date(b as any).getTime() : JSON.stringify(a ?? null) === JSON.stringify(b ?? null));

/** The run's index, or one loaded for just these records. */
export async function indexFor(env: ApplyEnv, kind: RecordKind, records: SourceRecord[], domains: () => string[]): Promise<SyncIndex> {
  const idx = env.index ?? new SyncIndex(env.connection, false);
  await idx.loadPage(kind, records, env.customerObjectType ?? 'company', idx.runWide ? [] : domains());
  return idx;
}

/** Links the database refused as duplicates exist already (another writer): learn them. */
export async function relearnLinks(idx: SyncIndex, conn: ApplyEnv['connection'], objectType: string, externalIds: string[]): Promise<void> {
  if (externalIds.length) await idx.addLinks({ connection_id: conn._id, object_type: objectType, external_id: { $in: externalIds } });
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
