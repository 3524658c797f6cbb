// One page of customer records, in two steps: plan the page (from its records and what the
// SyncIndex read through indexes knows: creates, updates with their changed fields, matches,
// archives, skips, errors and Activity rows), then write the plan in crash-safe order.
// The plan is a plain data structure, so what happened to each customer (created, or
// updated with these fields) can be read off it after the write.
import { Types } from 'mongoose';
import { Customer, type CustomerStatus } from '../models/customer.ts';
import { Activity } from '../models/activity.ts';
import { connectionActor } from '../activity/activity.ts';
import { SourceLink, AmbiguousMatch } from '../models/sync.ts';
import { createCustomers, derivedSearchFields } from '../customers/customers.ts';
import { isDuplicateKeyError } from '../errors.ts';
import type { SourceRecord } from '../connectors/connector.ts';
import { contentHash, mapCustomer, matchesByDomain, MATCH_PROBLEMS, type MappedCustomer } from './mapping.ts';
import { emitDomainEvents } from '../events/emit.ts';
import { customerEvents } from './customer-events.ts';
import { emptyCounts, recordSyncError, resolveSyncErrors, type Counts } from './runs.ts';
import { crmDecisions, decidedMatch, type CrmDecision } from './crm-ambiguous.ts';
import { indexFor, insertTolerant, mappingOf, oid, ownerFor, customerFields, relearnLinks, resolveOwners, same, shortHash, type ApplyEnv, type LinkEntry, type PageOutcome, type PreviewResult, type SyncIndex } from './apply.ts';

const SYNC_ACTOR = 'sync';
const COMPARED: (keyof MappedCustomer | 'owner_email')[] = ['name', 'domain', 'owner_email', 'plan', 'arr', 'industry', 'employee_count', 'last_activity_at'];
const ARCHIVED_BY_SOURCE = ['deleted_in_source', 'left_filter'];

/** What the page does to one customer: the facts domain events are derived from. */
export type CustomerChange =
  | { kind: 'created'; customerId: Types.ObjectId; externalId: string }
  | { kind: 'recreated'; customerId: Types.ObjectId; externalId: string }
  | { kind: 'matched'; customerId: Types.ObjectId; externalId: string; fields: string[] }
  | { kind: 'updated'; customerId: Types.ObjectId; externalId: string; fields: string[]; previous: Record<string, unknown>; status: { from: string; to: string } | null }
  | { kind: 'archived'; customerId: Types.ObjectId; externalId: string; from: string; reason: string };

/** Everything a customer page will write, computed before any write. */
export interface CustomerPagePlan {
  objectType: string;
  /** what the plan was computed against; the write keeps it current */
  index: SyncIndex;
  /** the page's clock: every row it writes carries this time */
  now: Date;
  counts: Counts;
  results: PreviewResult[];
  statusChanges: PageOutcome['statusChanges'];
  /** per customer, in record order; `created` entries whose link another writer won are dropped at write */
  changes: CustomerChange[];
  newLinks: Record<string, unknown>[];
  newLinkKeys: { externalId: string; target: string; customer: string | null }[];
  /** link: index into newLinks, or -1 when the link exists already (a recreate) */
  newCustomers: { link: number; doc: Record<string, unknown> }[];
  linkUpdates: any[];
  customerUpdates: any[];
  activities: Record<string, unknown>[];
  ambiguous: { domain: string; customer_id: Types.ObjectId | null; candidates: unknown[]; records: unknown[] }[];
  syncErrors: { recordId: string; message: string; modifiedAt: Date | null | undefined }[];
  /** external ids applied cleanly: their open SyncErrors resolve */
  clean: string[];
}

/** Plans the page, then writes the plan. */
export async function applyCustomerPage(env: ApplyEnv, records: SourceRecord[]): Promise<PageOutcome> {
  if (records.length === 0) return { counts: emptyCounts(), results: [], statusChanges: [] };
  const plan = await planCustomerPage(env, records);
  await writeCustomerPlan(env, plan);
  await emitDomainEvents(customerEvents(env, plan));
  return { counts: plan.counts, results: plan.results, statusChanges: plan.statusChanges };
}

/** The state one record's planning step works with. */
interface Step {
  env: ApplyEnv;
  idx: SyncIndex;
  plan: CustomerPagePlan;
  rec: SourceRecord;
  m: MappedCustomer;
  hash: string;
  link: LinkEntry | undefined;
  now: Date;
  docs: Map<string, any>;
  firstSync: boolean;
  byDomain: boolean;
  /** an admin's decisions for domains that were ambiguous (core/sync/crm-ambiguous.ts) */
  decisions: Map<string, CrmDecision>;
  result: (action: string, customerId: Types.ObjectId | string | null) => void;
}

/** Reads what the page needs (owners, index, changed customers) and plans every record. */
export async function planCustomerPage(env: ApplyEnv, records: SourceRecord[]): Promise<CustomerPagePlan> {
  const conn = env.connection;
  const byDomain = matchesByDomain(conn.settings);
  const mapping = mappingOf(env);
  const mapped = records.map((r) => mapCustomer(r, mapping, env.workspace.plans));
  await resolveOwners(env, mapped.map((m) => m.owner_source_id));
  const idx = await indexFor(env, 'customer', records, () => (byDomain ? [...new Set(mapped.map((m) => m.domain).filter((d): d is string => !!d))] : []));
  const plan = emptyPlan(records[0]!.objectType, idx);
  const hashes = records.map((rec, i) => contentHash([mapped[i], rec.deleted ?? false, rec.outOfScope ?? false]));
  const docs = await changedCustomers(idx, plan.objectType, records, hashes);
  const unlinkedDomains = byDomain ? mapped.filter((m, i) => m.domain && !idx.link(plan.objectType, records[i]!.externalId)).map((m) => m.domain!) : [];
  const decisions = await crmDecisions(conn._id, [...new Set(unlinkedDomains)]);
  const now = plan.now;
  records.forEach((rec, i) => {
    const m = mapped[i]!;
    const result = (action: string, customerId: Types.ObjectId | string | null) =>
      plan.results.push({ object_type: plan.objectType, external_id: rec.externalId, name: m.name, domain: m.domain, action, customer_id: customerId ? String(customerId) : null });
    planRecord({ env, idx, plan, rec, m, hash: hashes[i]!, link: idx.link(plan.objectType, rec.externalId), now, docs, firstSync: !conn.first_full_sync_at, byDomain, decisions, result });
  });
  return plan;
}

function emptyPlan(objectType: string, index: SyncIndex): CustomerPagePlan {
  return {
    objectType, index, now: new Date(), counts: emptyCounts(), results: [], statusChanges: [], changes: [], newLinks: [], newLinkKeys: [], newCustomers: [],
    linkUpdates: [], customerUpdates: [], activities: [], ambiguous: [], syncErrors: [], clean: [],
  };
}

/** Full documents, only for linked records whose content changed (or that the source archived). */
async function changedCustomers(idx: SyncIndex, objectType: string, records: SourceRecord[], hashes: string[]): Promise<Map<string, any>> {
  const changed: Types.ObjectId[] = [];
  records.forEach((rec, i) => {
    const link = idx.link(objectType, rec.externalId);
    if (!link || rec.deleted || rec.outOfScope) return;
    const c = idx.customers.get(link.target);
    if (c && (link.hash !== shortHash(hashes[i]) || (c.status === 'archived' && ARCHIVED_BY_SOURCE.includes(c.reason ?? '')))) changed.push(oid(link.target));
  });
  return new Map(changed.length ? (await Customer.find({ _id: { $in: changed } }).lean()).map((c) => [String(c._id), c]) : []);
}

function planRecord(s: Step): void {
  const { idx, plan, rec, link } = s;
  const ignored = idx.ignored(plan.objectType, rec.externalId);
  if (ignored && (!rec.modifiedAt || ignored.at === null || rec.modifiedAt.getTime() <= ignored.at)) {
    plan.counts.skipped++;
    return s.result('ignored', null);
  }
  // Out-of-order deliveries: the newest source state wins.
  if (link?.mod != null && rec.modifiedAt && rec.modifiedAt.getTime() < link.mod) {
    plan.counts.unchanged++;
    return s.result('stale', link.target);
  }
  if (rec.deleted || rec.outOfScope) return planGone(s);
  const entry = link ? idx.customers.get(link.target) : undefined;
  if (link && entry) return planLinked(s);
  if (link) return planRecreate(s);
  planUnlinked(s);
}

function activityRow(conn: ApplyEnv['connection'], customerId: Types.ObjectId, event_type: string, field: string | null, old_value: unknown, new_value: unknown, at: Date): Record<string, unknown> {
  return { workspace_id: conn.workspace_id, customer_id: customerId, actor: connectionActor(conn), actor_type: SYNC_ACTOR, event_type, field, old_value: old_value ?? null, new_value: new_value ?? null, at };
}

function activity(s: Step, customerId: Types.ObjectId, event_type: string, field: string | null, old_value: unknown, new_value: unknown): void {
  s.plan.activities.push(activityRow(s.env.connection, customerId, event_type, field, old_value, new_value, s.now));
}

function sourceRef(s: Step): Record<string, unknown> {
  const conn = s.env.connection;
  return { connection_id: conn._id, provider: conn.provider, object_type: s.rec.objectType, external_id: s.rec.externalId, url: s.rec.url ?? null };
}

/** Moves the record's link to this content (and keeps the index current). */
function updateLink(s: Step, extra: Record<string, unknown> = {}): void {
  const { rec, link } = s;
  s.plan.linkUpdates.push({
    updateOne: {
      filter: { connection_id: s.env.connection._id, object_type: s.plan.objectType, external_id: rec.externalId },
      update: { $set: { content_hash: s.hash, source_modified_at: rec.modifiedAt, last_run_id: s.env.run?._id ?? null, ...extra } },
    },
  });
  link!.hash = shortHash(s.hash);
  link!.mod = rec.modifiedAt?.getTime() ?? null;
}

/** Deleted in the source or out of the connection's filter: archive the linked customer. */
function planGone(s: Step): void {
  const { plan, rec, link, now } = s;
  const entry = link ? s.idx.customers.get(link.target) : undefined;
  if (link && entry && entry.status !== 'archived') {
    const reason = rec.deleted ? 'deleted_in_source' : 'left_filter';
    const id = oid(link.target);
    plan.customerUpdates.push({ updateOne: { filter: { _id: id }, update: { $set: { status: 'archived', status_changed_at: now, archived_at: now, archived_reason: reason, last_synced_at: now } } } });
    activity(s, id, 'archived', 'status', entry.status, 'archived');
    plan.statusChanges.push({ customerId: id, from: entry.status, to: 'archived' });
    plan.changes.push({ kind: 'archived', customerId: id, externalId: rec.externalId, from: entry.status, reason });
    entry.status = 'archived';
    entry.reason = reason;
    plan.counts.archived++;
    s.result('archived', id);
  } else {
    plan.counts.skipped++;
    s.result('skipped_gone', link?.target ?? null);
  }
  if (link) updateLink(s);
  plan.clean.push(rec.externalId);
}

/** A linked, existing customer: write the fields that differ (nothing when the content is the same). */
function planLinked(s: Step): void {
  const { plan, rec, link } = s;
  const customer = s.docs.get(link!.target);
  if (!customer) {
    // Same content as last time (and not archived by the source): nothing to write.
    plan.counts.unchanged++;
    plan.clean.push(rec.externalId);
    return s.result('unchanged', link!.target);
  }
  const fields = customerFields(s.m, ownerFor(s.env, s.m.owner_source_id), rec);
  const { set, changed, previous } = fieldDiff(s, customer, fields);
  const nextStatus = statusChange(s, customer, set);
  plan.customerUpdates.push({ updateOne: { filter: { _id: customer._id }, update: { $set: set } } });
  updateLink(s);
  const entry = s.idx.customers.get(link!.target)!;
  s.idx.addCustomer(link!.target, { domain: set.domain !== undefined ? (set.domain as string | null) : entry.domain, linked: true, status: nextStatus ?? customer.status, reason: nextStatus ? null : entry.reason });
  plan.clean.push(rec.externalId);
  const updated = Object.keys(set).length > 1;
  plan.counts[updated ? 'updated' : 'unchanged']++;
  s.result(updated ? 'updated' : 'unchanged', customer._id);
  if (updated) plan.changes.push({ kind: 'updated', customerId: customer._id, externalId: rec.externalId, fields: changed, previous, status: nextStatus ? { from: customer.status, to: nextStatus } : null });
}

/** The `$set` for a linked customer's mapped fields, with an Activity row per changed field. */
function fieldDiff(s: Step, customer: any, fields: Record<string, unknown>): { set: Record<string, unknown>; changed: string[]; previous: Record<string, unknown> } {
  const set: Record<string, unknown> = { last_synced_at: s.now };
  const changed: string[] = [];
  const previous: Record<string, unknown> = {};
  for (const k of COMPARED) {
    const next = fields[k as string];
    if (!same(customer[k], next)) {
      set[k] = next;
      changed.push(k);
      previous[k] = customer[k] ?? null;
      activity(s, customer._id, 'field_changed', k, customer[k], next);
    }
  }
  if (!same(customer.owner_member_id, fields.owner_member_id)) set.owner_member_id = fields.owner_member_id;
  if (set.name !== undefined || set.domain !== undefined) Object.assign(set, derivedSearchFields(String(fields.name), fields.domain as string | null));
  const custom = s.m.custom_fields;
  if (Object.keys(custom).length && !same(customer.custom_fields, { ...customer.custom_fields, ...custom })) {
    set.custom_fields = { ...customer.custom_fields, ...custom };
    changed.push('custom_fields');
    previous.custom_fields = customer.custom_fields ?? {};
    activity(s, customer._id, 'field_changed', 'custom_fields', customer.custom_fields, set.custom_fields);
  }
  if (s.m.tags.length && s.m.tags.some((t) => !customer.tags.includes(t))) {
    set.tags = [...new Set([...customer.tags, ...s.m.tags])];
    changed.push('tags');
    previous.tags = customer.tags;
  }
  return { set, changed, previous };
}

/** A mapped status that differs, or reactivation of a customer the source had archived. */
function statusChange(s: Step, customer: any, set: Record<string, unknown>): CustomerStatus | null {
  const wasArchivedBySource = customer.status === 'archived' && ARCHIVED_BY_SOURCE.includes(customer.archived_reason ?? '');
  let next: CustomerStatus | null = s.m.status && s.m.status !== customer.status ? s.m.status : null;
  if (!next && wasArchivedBySource) next = 'active';
  if (!next) return null;
  set.status = next;
  set.status_changed_at = s.now;
  if (customer.status === 'archived') Object.assign(set, { archived_at: null, archived_reason: null });
  activity(s, customer._id, 'status_changed', 'status', customer.status, next);
  s.plan.statusChanges.push({ customerId: customer._id, from: customer.status, to: next });
  return next;
}

function createDoc(s: Step, id: Types.ObjectId): Record<string, unknown> {
  const fields = customerFields(s.m, ownerFor(s.env, s.m.owner_source_id), s.rec);
  const m = s.m;
  return { _id: id, ...fields, status: m.status ?? 'active', source_created_at: m.source_created_at, custom_fields: m.custom_fields, tags: m.tags, sources: [sourceRef(s)], last_synced_at: s.now };
}

/** Linked customer deleted in Pivotal: recreate it and re-point the link. */
function planRecreate(s: Step): void {
  const id = new Types.ObjectId();
  updateLink(s, { target_id: id });
  s.link!.target = String(id);
  s.plan.newCustomers.push({ link: -1, doc: createDoc(s, id) });
  s.plan.changes.push({ kind: 'recreated', customerId: id, externalId: s.rec.externalId });
  s.idx.addCustomer(String(id), { domain: s.m.domain, linked: true, status: s.m.status ?? 'active', reason: null });
  s.plan.clean.push(s.rec.externalId);
  s.result('recreated', id);
}

/** Not linked yet: match by domain (or create). Each record counts once. */
function planUnlinked(s: Step): void {
  const { idx, plan, rec, m } = s;
  // A record without its match key is skipped (as validate counts it), and its SyncError
  // says what validate's problem list says.
  if (s.byDomain && !m.domain) {
    plan.counts.skipped++;
    noteError(s, MATCH_PROBLEMS.noDomain);
    return s.result('skipped_no_match_key', null);
  }
  const hits = s.byDomain ? (idx.byDomain.get(m.domain!) ?? []) : [];
  const decided = decidedMatch(s.decisions.get(m.domain ?? ''), hits);
  if (decided === 'skip') {
    plan.counts.skipped++;
    plan.clean.push(rec.externalId);
    return s.result('skipped_by_admin', null);
  }
  const free = decided?.free ?? hits.filter((h) => !idx.customers.get(h)?.linked);
  const mine = decided?.mine ?? hits.filter((h) => idx.customers.get(h)?.linked);
  const records = [{ external_id: rec.externalId, name: m.name ?? null, url: rec.url ?? null }];
  if (free.length > 1) {
    if (s.firstSync) {
      plan.counts.ambiguous++;
      plan.ambiguous.push({ domain: m.domain!, customer_id: null, candidates: free, records });
      noteError(s, MATCH_PROBLEMS.severalCustomers(free.length));
      s.result('ambiguous', null);
    } else {
      plan.counts.skipped++;
      s.result('skipped_duplicate', null);
    }
    return;
  }
  if (free.length === 0 && mine.length > 0) {
    // The domain already belongs to another record of this source: later duplicates are ignored.
    plan.counts.skipped++;
    plan.ambiguous.push({ domain: m.domain!, customer_id: oid(mine[0]!), candidates: [rec.externalId], records });
    return s.result('skipped_duplicate', mine[0]!);
  }
  if (free.length === 1) planMatch(s, free[0]!);
  else planCreate(s);
}

function noteError(s: Step, message: string): void {
  s.plan.syncErrors.push({ recordId: s.rec.externalId, message, modifiedAt: s.rec.modifiedAt });
  s.idx.noteError(s.plan.objectType, s.rec.externalId);
}

function newLink(s: Step, target: Types.ObjectId): Record<string, unknown> {
  const conn = s.env.connection;
  return {
    _id: new Types.ObjectId(), workspace_id: conn.workspace_id, connection_id: conn._id, object_type: s.plan.objectType, external_id: s.rec.externalId,
    target_type: 'customer', content_hash: s.hash, source_modified_at: s.rec.modifiedAt, last_run_id: s.env.run?._id ?? null, createdAt: s.now, updatedAt: s.now, target_id: target,
  };
}

/** Exactly one unlinked customer has the domain: link it and take the source's fields. */
function planMatch(s: Step, targetHex: string): void {
  const { plan, rec } = s;
  const conn = s.env.connection;
  const target = oid(targetHex);
  plan.newLinks.push(newLink(s, target));
  plan.newLinkKeys.push({ externalId: rec.externalId, target: targetHex, customer: null });
  const prev = s.idx.customers.get(targetHex)!;
  s.idx.addCustomer(targetHex, { ...prev, linked: true, domain: s.m.domain });
  const fields = customerFields(s.m, ownerFor(s.env, s.m.owner_source_id), rec);
  const set: Record<string, unknown> = { ...fields, ...derivedSearchFields(String(fields.name), fields.domain as string | null), last_synced_at: s.now };
  plan.customerUpdates.push({ updateOne: { filter: { _id: target }, update: { $set: set, $push: { sources: sourceRef(s) } } } });
  activity(s, target, 'linked', null, null, `${conn.provider} ${rec.objectType} ${rec.externalId}`);
  plan.changes.push({ kind: 'matched', customerId: target, externalId: rec.externalId, fields: Object.keys(fields) });
  plan.counts.matched++;
  plan.clean.push(rec.externalId);
  s.result('matched', target);
}

/** No customer has the domain: a new one, its link inserted first. */
function planCreate(s: Step): void {
  const { plan, rec } = s;
  const id = new Types.ObjectId();
  const idHex = id.toHexString();
  plan.newLinks.push(newLink(s, id));
  plan.newLinkKeys.push({ externalId: rec.externalId, target: idHex, customer: idHex });
  plan.newCustomers.push({ link: plan.newLinks.length - 1, doc: createDoc(s, id) });
  plan.changes.push({ kind: 'created', customerId: id, externalId: rec.externalId });
  s.idx.addCustomer(idHex, { domain: s.m.domain, linked: true, status: s.m.status ?? 'active', reason: null });
  plan.clean.push(rec.externalId);
  s.result('created', id);
}

/**
 * Writes a plan in crash-safe order: SyncErrors, links, then customers, then the rest.
 * A new link refused as a duplicate means another writer linked the record first: its
 * customer stands, ours is not created (and its `created` change is dropped from the plan).
 */
export async function writeCustomerPlan(env: ApplyEnv, plan: CustomerPagePlan): Promise<void> {
  const conn = env.connection;
  const idx = plan.index;
  for (const e of plan.syncErrors) await recordSyncError({ connection: conn, run: env.run, objectType: plan.objectType, recordId: e.recordId, error: new Error(e.message), sourceModifiedAt: e.modifiedAt });
  const refused = await insertLinks(idx, conn, plan);
  await createPlanned(env, plan, refused);
  if (plan.customerUpdates.length) await Customer.bulkWrite(plan.customerUpdates, { ordered: false });
  if (plan.linkUpdates.length) await SourceLink.bulkWrite(plan.linkUpdates, { ordered: false });
  if (plan.activities.length) await Activity.collection.insertMany(plan.activities, { ordered: false });
  await recordAmbiguous(conn, plan.ambiguous);
  await resolveSyncErrors(conn._id, plan.objectType, idx.takeResolved(plan.objectType, plan.clean));
}

/** Inserts the planned links; returns the indexes of those another writer inserted first. */
async function insertLinks(idx: SyncIndex, conn: ApplyEnv['connection'], plan: CustomerPagePlan): Promise<Set<number>> {
  const refused = await insertTolerant(SourceLink, plan.newLinks);
  plan.newLinks.forEach((l, i) => {
    if (refused.has(i)) return;
    idx.setLink(plan.objectType, String(l.external_id), { target: plan.newLinkKeys[i]!.target, hash: shortHash(l.content_hash as string), mod: (l.source_modified_at as Date | null)?.getTime() ?? null });
  });
  for (const i of refused) if (plan.newLinkKeys[i]?.customer) idx.dropCustomer(plan.newLinkKeys[i]!.customer!);
  await relearnLinks(idx, conn, plan.objectType, [...refused].map((i) => plan.newLinkKeys[i]!.externalId));
  return refused;
}

/** Creates the planned customers whose link stands; the others count as unchanged. */
async function createPlanned(env: ApplyEnv, plan: CustomerPagePlan, refused: Set<number>): Promise<void> {
  const lost = new Set(plan.newCustomers.filter((c) => c.link >= 0 && refused.has(c.link)).map((c) => String(c.doc._id)));
  const toCreate = plan.newCustomers.filter((c) => !lost.has(String(c.doc._id)));
  if (lost.size) plan.changes = plan.changes.filter((c) => c.kind !== 'created' || !lost.has(String(c.customerId)));
  if (toCreate.length) {
    const created = await createCustomers(env.connection.workspace_id, toCreate.map((c) => c.doc as any));
    for (const c of created) plan.activities.push(activityRow(env.connection, c._id, 'created', null, null, c.name, plan.now));
    plan.counts.created += created.length;
  }
  plan.counts.unchanged += lost.size;
}

async function recordAmbiguous(conn: ApplyEnv['connection'], ambiguous: CustomerPagePlan['ambiguous']): Promise<void> {
  for (const a of ambiguous) {
    try {
      await AmbiguousMatch.create({ workspace_id: conn.workspace_id, connection_id: conn._id, ...a });
    } catch (e) {
      if (!isDuplicateKeyError(e)) throw e;
      await AmbiguousMatch.updateOne({ connection_id: conn._id, domain: a.domain }, { $addToSet: { candidates: { $each: a.candidates }, records: { $each: a.records } } });
    }
  }
}
