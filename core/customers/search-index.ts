// In-memory lookup index behind searchCustomers: one per workspace per process. On FerretDB
// v1 every query is a full collection scan, `_id` equality included (measured at 100,000
// customers: 1–4 s per `_id` lookup, tens of seconds for anything else), so a search that
// asked the database even once per hit could not answer in under a second. Here a search
// runs in memory and returns the customers' documents from memory too: each entry keeps
// its document as raw BSON (compact; decoded only for hits, as `.lean()` returns it minus
// search_grams, an internal lookup key).
//
// It is a cache, never the truth: any process rebuilds it from the database (one scan per
// workspace on first use; contacts only once an email is searched), so instances stay
// stateless. Freshness:
// - incremental refresh: customers and contacts with updatedAt >= since − SKEW, where since
//   is the start of the previous refresh (writers' clocks and late commits fit in SKEW),
//   and billing versions (core/billing/store.ts) with written_at >= the same bound.
//   Every write path must bump updatedAt (mongoose does; raw driver writes set it by hand);
// - in the background every `backgroundMs` (at least twice the last refresh's duration, so
//   on FerretDB, where a refresh is itself a scan, it takes at most a third of the time)
//   while the index was used in the last minute;
// - before a query when the index is older than `maxStalenessMs`; the query waits for that
//   refresh unless the last one took longer than `maxWaitMs` (FerretDB at scale), then it
//   answers from the index as it is;
// - invalidateCustomerSearch(workspaceId) after a write in this process forces the next
//   query to refresh first;
// - deletions (no updatedAt to find them by; the app archives rather than deletes): a full
//   rebuild every `rebuildMs` while in use. Under NODE_ENV=test every search rebuilds
//   (rebuildMs 0), so a test that writes, deletes, then searches sees exactly the database.
// One refresh or build at a time per workspace; concurrent queries share it.
import mongoose, { Types } from 'mongoose';
import type { Document as BsonDocument } from 'mongodb';
import { Customer } from '../models/customer.ts';
import { Contact } from '../models/contact.ts';
import { CustomerBilling } from '../models/billing.ts';
import { toView } from '../billing/store.ts';
import { log } from '../log.ts';
import { trigrams } from './text.ts';

const SKEW_MS = 10_000;
const IN_USE_MS = 60_000;

export interface SearchFreshness {
  /** refresh before answering when the index is older than this */
  maxStalenessMs: number;
  /** wait for that refresh only when the last one took at most this long */
  maxWaitMs: number;
  /** background refresh period while in use; 0 turns it off */
  backgroundMs: number;
  /** full rebuild period while in use (catches deletions); 0 rebuilds at every refresh, Infinity never */
  rebuildMs: number;
}

const PRODUCTION: SearchFreshness = { maxStalenessMs: 5_000, maxWaitMs: 1_000, backgroundMs: 2_000, rebuildMs: 10 * 60_000 };
const defaults = (): SearchFreshness =>
  process.env.NODE_ENV === 'test' ? { maxStalenessMs: 0, maxWaitMs: Number.POSITIVE_INFINITY, backgroundMs: 0, rebuildMs: 0 } : { ...PRODUCTION };

let config: SearchFreshness | null = null;
const freshness = () => (config ??= defaults());

/** Overrides the freshness settings (benchmarks run under NODE_ENV=test but want production ones). */
export function configureCustomerSearch(opts: Partial<SearchFreshness> | 'production' | 'default'): void {
  if (opts === 'default') config = null;
  else if (opts === 'production') config = { ...PRODUCTION };
  else config = { ...freshness(), ...opts };
}

/** The fields a customer is found by; everything else is read from the database per hit. */
export interface IndexedCustomer {
  _id: unknown;
  display_id?: number | null;
  name_lower?: string | null;
  domain?: string | null;
  status?: string | null;
  billing?: { payment_status?: string | null; mrr?: number | null } | null;
  health?: { score?: number | null } | null;
  owner_member_id?: unknown;
  owner_email?: string | null;
}

const DEAD = '';
const EMPTY = new Uint8Array(0);
const CHUNK = 1 << 20;

/**
 * Append-only byte store for the raw documents: 1 MB chunks addressed by (chunk, offset,
 * length) numbers, so 100,000 documents cost ~100 buffers rather than 100,000 objects.
 * Space of replaced documents comes back at compaction.
 */
class RawArena {
  private chunks: Uint8Array[] = [];
  private used = CHUNK;

  put(raw: Uint8Array): [number, number] {
    if (raw.length > CHUNK - this.used) {
      this.chunks.push(new Uint8Array(Math.max(CHUNK, raw.length)));
      this.used = 0;
    }
    const c = this.chunks.length - 1;
    this.chunks[c]!.set(raw, this.used);
    const at = this.used;
    this.used += raw.length;
    return [c, at];
  }

  get(chunk: number, at: number, length: number): Uint8Array {
    return this.chunks[chunk]!.subarray(at, at + length);
  }
}
const { BSON } = mongoose.mongo;
// Shared string instances, so 100,000 entries hold 4 references rather than 100,000 strings.
const interned = new Map<string, string>();
const intern = (s: string) => {
  let v = interned.get(s);
  if (v === undefined) interned.set(s, (v = s));
  return v;
};

function lowerBound(order: number[], keys: (string | null)[], q: string): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[order[mid]!] ?? '') < q) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The searchable entries of one workspace, as parallel arrays indexed by slot. A changed
 * customer gets a new slot and its old one is marked dead (status ''), so the maps and
 * postings only ever grow between compactions and readers skip dead slots.
 */
export class WorkspaceSearchIndex {
  readonly ids: string[] = [];
  readonly names: string[] = [];
  readonly domains: (string | null)[] = [];
  readonly displayIds: number[] = [];
  readonly statuses: string[] = [];
  /** for the Slack lists (failing, mine) without a database scan */
  readonly payments: string[] = [];
  readonly ownerIds: string[] = [];
  readonly ownerEmails: string[] = [];
  /** sort keys of the lists (NaN when unknown), so only the top entries get decoded */
  readonly mrrs: number[] = [];
  readonly healthScores: number[] = [];
  /** the full document as the database returned it: raw BSON in the arena (length 0: none) */
  private readonly arena = new RawArena();
  private readonly rawChunk: number[] = [];
  private readonly rawAt: number[] = [];
  private readonly rawLength: number[] = [];
  private readonly slotOf = new Map<string, number>();
  // mostly one customer per key: a bare slot number, an array only when shared
  private readonly byName = new Map<string, Slots>();
  private readonly byDomain = new Map<string, Slots>();
  private readonly byDisplayId = new Map<number, Slots>();
  private readonly grams = new Map<string, number[]>();
  /** slots in name / domain order as of the last sort; newer slots are in `unsorted` */
  private byNameOrder: number[] = [];
  private byDomainOrder: number[] = [];
  private unsorted: number[] = [];
  /**
   * A fresh index being filled (build, compact, from) defers sorting to its one sort at
   * the end: re-sorting every 2,000 customers made ~50 throwaway copies of the slot list,
   * up to 100,000 numbers each, allocated straight into old space.
   */
  private sortDeferred: boolean;
  private dead = 0;
  /**
   * Current billing per customer id (billing lives in its own collection, core/billing/
   * store.ts): its raw BSON in the arena plus what the lists sort and filter by, in
   * parallel arrays indexed by billing entry. Kept by customer id, not slot: a version can
   * arrive before its customer, and a renamed customer moves to a new slot.
   */
  private billIndex = new Map<string, number>();
  private readonly billChunk: number[] = [];
  private readonly billAt: number[] = [];
  private readonly billLength: number[] = [];
  private readonly billWritten: number[] = [];
  private readonly billPayment: string[] = [];
  private readonly billMrr: number[] = [];
  /** contact email → customer ids (hex); null until an email is first searched */
  contactsByEmail: Map<string, Set<string>> | null = null;
  private contactLinks = new Map<string, { email: string; customerId: string }>();

  /** `bulk`: nothing reads it until sortNow() (see sortDeferred). */
  constructor(opts: { bulk?: boolean } = {}) {
    this.sortDeferred = opts.bulk ?? false;
  }

  get size(): number {
    return this.slotOf.size;
  }

  static from(docs: IndexedCustomer[]): WorkspaceSearchIndex {
    const ix = new WorkspaceSearchIndex({ bulk: true });
    for (const d of docs) ix.upsert(d);
    ix.sort();
    return ix;
  }

  /** Adds or replaces a customer from its raw BSON document. */
  upsertRaw(raw: Uint8Array): void {
    this.upsert(BSON.deserialize(raw) as IndexedCustomer, raw);
  }

  private raw(slot: number): Uint8Array {
    const n = this.rawLength[slot] ?? 0;
    return n ? this.arena.get(this.rawChunk[slot]!, this.rawAt[slot]!, n) : EMPTY;
  }

  private storeRaw(slot: number, raw: Uint8Array): void {
    // copied into the arena: the driver's buffer is a slice of a whole reply batch
    const [c, at] = raw.length ? this.arena.put(raw) : [0, 0];
    this.rawChunk[slot] = c;
    this.rawAt[slot] = at;
    this.rawLength[slot] = raw.length;
  }

  /** The domain's first label ("acme" of acme.co.uk), which typo matching also compares. */
  label(slot: number): string | null {
    const d = this.domains[slot];
    return d ? (d.split('.')[0] ?? null) : null;
  }

  /** The customer's document as `.lean()` would return it (without search_grams). */
  doc(slot: number): BsonDocument {
    const raw = this.raw(slot);
    const doc = raw.length ? BSON.deserialize(raw) : { _id: this.ids[slot], name_lower: this.names[slot], domain: this.domains[slot], display_id: this.displayIds[slot], status: this.statuses[slot] };
    const b = this.billIndex.get(this.ids[slot]!);
    doc.billing = toView(b === undefined ? null : (BSON.deserialize(this.arena.get(this.billChunk[b]!, this.billAt[b]!, this.billLength[b]!)) as any));
    return doc;
  }

  /** Records a customer's billing version from its raw BSON (an older version than the one held is ignored). */
  setBillingRaw(raw: Uint8Array): void {
    const d = BSON.deserialize(raw) as { customer_id: unknown; written_at: Date; payment_status?: string | null; mrr?: number | null };
    this.setBilling(String(d.customer_id), d.written_at.getTime(), d.payment_status ?? 'none', typeof d.mrr === 'number' ? d.mrr : Number.NaN, raw);
  }

  private setBilling(id: string, writtenMs: number, payment: string, mrr: number, raw: Uint8Array): void {
    let b = this.billIndex.get(id);
    if (b !== undefined && this.billWritten[b]! > writtenMs) return;
    const [c, at] = this.arena.put(raw);
    const slot = this.slotOf.get(id);
    if (b === undefined) {
      b = this.billWritten.length;
      // keyed by the customer's own id string when it is indexed (one string, not two)
      this.billIndex.set(slot === undefined ? id : this.ids[slot]!, b);
    }
    this.billChunk[b] = c;
    this.billAt[b] = at;
    this.billLength[b] = raw.length;
    this.billWritten[b] = writtenMs;
    this.billPayment[b] = intern(payment);
    this.billMrr[b] = mrr;
    if (slot === undefined) return;
    this.payments[slot] = this.billPayment[b]!;
    this.mrrs[slot] = mrr;
  }

  isLive(slot: number): boolean {
    const s = this.statuses[slot];
    return s !== DEAD && s !== 'archived';
  }

  /** Adds or replaces a customer; archived customers are dropped (never offered). */
  upsert(d: IndexedCustomer, raw: Uint8Array = EMPTY): void {
    const id = String(d._id);
    const nameLower = d.name_lower ?? '';
    const domain = d.domain ?? null;
    const displayId = typeof d.display_id === 'number' ? d.display_id : Number.NaN;
    const status = intern(d.status ?? 'active');
    const b = this.billIndex.get(id);
    const billing = b === undefined ? d.billing : { payment_status: this.billPayment[b], mrr: this.billMrr[b] };
    const payment = intern(billing?.payment_status ?? 'none');
    const ownerId = intern(d.owner_member_id ? String(d.owner_member_id) : '');
    const ownerEmail = intern(d.owner_email ?? '');
    const mrr = typeof billing?.mrr === 'number' ? billing.mrr : Number.NaN;
    const healthScore = typeof d.health?.score === 'number' ? d.health.score : Number.NaN;
    const old = this.slotOf.get(id);
    if (old !== undefined) {
      if (this.names[old] === nameLower && this.domains[old] === domain && this.displayIds[old] === displayId && status !== 'archived') {
        this.statuses[old] = status;
        this.payments[old] = payment;
        this.ownerIds[old] = ownerId;
        this.ownerEmails[old] = ownerEmail;
        this.mrrs[old] = mrr;
        this.healthScores[old] = healthScore;
        this.storeRaw(old, raw);
        return;
      }
      this.remove(id);
    }
    if (status === 'archived') return;
    const slot = this.ids.length;
    this.ids.push(id);
    this.names.push(nameLower);
    this.domains.push(domain);
    const label = domain ? (domain.split('.')[0] ?? null) : null;
    this.displayIds.push(displayId);
    this.statuses.push(status);
    this.payments.push(payment);
    this.ownerIds.push(ownerId);
    this.ownerEmails.push(ownerEmail);
    this.mrrs.push(mrr);
    this.healthScores.push(healthScore);
    this.storeRaw(slot, raw);
    this.slotOf.set(id, slot);
    add(this.byName, nameLower, slot);
    if (domain) add(this.byDomain, domain, slot);
    if (!Number.isNaN(displayId)) add(this.byDisplayId, displayId, slot);
    const gs = new Set(trigrams(nameLower));
    if (label) for (const g of trigrams(label)) gs.add(g);
    for (const g of gs) push(this.grams, g, slot);
    this.unsorted.push(slot);
    if (this.unsorted.length > 2_000 && !this.sortDeferred) this.sort();
  }

  remove(id: string): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.slotOf.delete(id);
    this.statuses[slot] = DEAD;
    this.rawLength[slot] = 0;
    this.dead++;
  }

  /** The live entry of a customer id, for checking a hit read from the database. */
  entryOf(id: string): { name_lower: string; domain: string | null; display_id: number; status: string } | null {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return null;
    return { name_lower: this.names[slot]!, domain: this.domains[slot]!, display_id: this.displayIds[slot]!, status: this.statuses[slot]! };
  }

  /** True when dead slots are a large share: the caller rebuilds a compact copy. */
  get wasteful(): boolean {
    return this.dead > 10_000 && this.dead > this.slotOf.size / 4;
  }

  /** A compact copy (same live entries, no dead slots). */
  compact(): WorkspaceSearchIndex {
    const ix = new WorkspaceSearchIndex({ bulk: true });
    for (const [id, b] of this.billIndex) {
      ix.setBilling(id, this.billWritten[b]!, this.billPayment[b]!, this.billMrr[b]!, this.arena.get(this.billChunk[b]!, this.billAt[b]!, this.billLength[b]!));
    }
    for (const [id, slot] of this.slotOf) {
      ix.upsert(
        {
          _id: id, name_lower: this.names[slot], domain: this.domains[slot], display_id: this.displayIds[slot], status: this.statuses[slot],
          owner_member_id: this.ownerIds[slot] || null, owner_email: this.ownerEmails[slot] || null,
          health: { score: this.healthScores[slot] },
        },
        this.raw(slot),
      );
    }
    ix.sort();
    ix.contactsByEmail = this.contactsByEmail;
    ix.contactLinks = this.contactLinks;
    return ix;
  }

  sortNow(): void {
    this.sort();
  }

  private sort(): void {
    const live = [...this.slotOf.values()];
    const cmp = (keys: (string | null)[]) => (a: number, b: number) => {
      const x = keys[a] ?? '';
      const y = keys[b] ?? '';
      return x < y ? -1 : x > y ? 1 : a - b;
    };
    this.byNameOrder = live.slice().sort(cmp(this.names));
    this.byDomainOrder = live.filter((s) => this.domains[s]).sort(cmp(this.domains));
    this.unsorted = [];
    this.sortDeferred = false;
  }

  /** Live slots matching a predicate on the slot's parallel arrays (Slack lists). */
  where(pred: (slot: number) => boolean): number[] {
    const out: number[] = [];
    for (const slot of this.slotOf.values()) if (this.isLive(slot) && pred(slot)) out.push(slot);
    return out;
  }

  byDisplay(displayId: number): number[] {
    return all(this.byDisplayId.get(displayId)).filter((s) => this.isLive(s));
  }

  /** Exact name, exact domain, or owning a contact with this email; live slots. */
  exact(query: string, domain: string | null, email: string | null): number[] {
    const out = new Set<number>();
    for (const s of all(this.byName.get(query))) out.add(s);
    if (domain) for (const s of all(this.byDomain.get(domain))) out.add(s);
    if (email && this.contactsByEmail) {
      for (const id of this.contactsByEmail.get(email) ?? []) {
        const s = this.slotOf.get(id);
        if (s !== undefined) out.add(s);
      }
    }
    return [...out].filter((s) => this.isLive(s));
  }

  /** Live slots whose name or domain starts with the query, the first `limit` by name. */
  prefix(query: string, limit: number): number[] {
    const picked = new Set<number>();
    // names in order: the first `limit` live ones are all that can make the top `limit`
    let taken = 0;
    for (let i = lowerBound(this.byNameOrder, this.names, query); i < this.byNameOrder.length && taken < limit; i++) {
      const s = this.byNameOrder[i]!;
      if (!this.names[s]!.startsWith(query)) break;
      if (this.isLive(s)) {
        picked.add(s);
        taken++;
      }
    }
    // domains are ordered by domain, not by name: every match competes
    for (let i = lowerBound(this.byDomainOrder, this.domains, query); i < this.byDomainOrder.length; i++) {
      const s = this.byDomainOrder[i]!;
      if (!this.domains[s]!.startsWith(query)) break;
      if (this.isLive(s)) picked.add(s);
    }
    for (const s of this.unsorted) {
      if (this.isLive(s) && (this.names[s]!.startsWith(query) || (this.domains[s] ?? '').startsWith(query))) picked.add(s);
    }
    return this.orderByName([...picked]).slice(0, limit);
  }

  orderByName(slots: number[]): number[] {
    return slots.sort((a, b) => (this.names[a]! < this.names[b]! ? -1 : this.names[a]! > this.names[b]! ? 1 : this.displayIds[a]! - this.displayIds[b]!));
  }

  /**
   * Live slots sharing at least one trigram with the query, at most `max`: those sharing
   * the most, returned in slot order (≈ insertion order, like the database's natural order).
   */
  gramCandidates(grams: string[], max: number): number[] {
    const counts = new Uint16Array(this.ids.length);
    const touched: number[] = [];
    for (const g of grams) {
      for (const s of this.grams.get(g) ?? []) {
        if (counts[s] === 0) touched.push(s);
        counts[s]!++;
      }
    }
    let live = touched.filter((s) => this.isLive(s));
    if (live.length > max) {
      // keep the best-overlapping `max`: bucket by shared-gram count, highest first
      const buckets = new Map<number, number[]>();
      for (const s of live) push(buckets, counts[s]!, s);
      const chosen: number[] = [];
      for (const c of [...buckets.keys()].sort((a, b) => b - a)) {
        for (const s of buckets.get(c)!) {
          if (chosen.length >= max) break;
          chosen.push(s);
        }
      }
      live = chosen;
    }
    return live.sort((a, b) => a - b);
  }

  setContacts(docs: ContactDoc[]): void {
    this.contactsByEmail = new Map();
    this.contactLinks = new Map();
    this.applyContacts(docs);
  }

  applyContacts(docs: ContactDoc[]): void {
    const byEmail = this.contactsByEmail;
    if (!byEmail) return;
    for (const c of docs) {
      const key = String(c._id);
      const prev = this.contactLinks.get(key);
      if (prev) {
        const set = byEmail.get(prev.email);
        set?.delete(prev.customerId);
        if (set && set.size === 0) byEmail.delete(prev.email);
        this.contactLinks.delete(key);
      }
      if (!c.email || !c.customer_id) continue;
      const link = { email: c.email, customerId: String(c.customer_id) };
      this.contactLinks.set(key, link);
      let set = byEmail.get(link.email);
      if (!set) byEmail.set(link.email, (set = new Set()));
      set.add(link.customerId);
    }
  }
}

interface ContactDoc {
  _id: unknown;
  email?: string | null;
  customer_id?: unknown;
}

type Slots = number | number[];

function add<K>(m: Map<K, Slots>, k: K, v: number): void {
  const a = m.get(k);
  if (a === undefined) m.set(k, v);
  else if (typeof a === 'number') m.set(k, [a, v]);
  else a.push(v);
}

const all = (v: Slots | undefined): number[] => (v === undefined ? [] : typeof v === 'number' ? [v] : v);

function push<K>(m: Map<K, number[]>, k: K, v: number): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

// ---- per-process cache of workspace indexes -------------------------------------------

const CONTACT_FIELDS = { email: 1, customer_id: 1 } as const;

interface Slot {
  workspaceId: Types.ObjectId;
  index: WorkspaceSearchIndex | null;
  /** lower bound for the next incremental refresh (start of the previous one) */
  since: number;
  contactsSince: number;
  refreshedAt: number;
  builtAt: number;
  lastDurationMs: number;
  lastUsedAt: number;
  invalidated: boolean;
  wantContacts: boolean;
  inflight: Promise<void> | null;
  inflightStarted: number;
  timer: NodeJS.Timeout | null;
  generation: number;
}

const slots = new Map<string, Slot>();
let generation = 0;
const stats = { builds: 0, refreshes: 0 };

/** How many builds and incremental refreshes this process ran (tests, diagnostics). */
export function customerSearchStats(): { builds: number; refreshes: number } {
  return { ...stats };
}

const keyOf = (workspaceId: Types.ObjectId) => `${mongoose.connection.name ?? ''}:${String(workspaceId)}`;

function slotFor(workspaceId: Types.ObjectId): Slot {
  const key = keyOf(workspaceId);
  let s = slots.get(key);
  if (!s) {
    s = { workspaceId, index: null, since: 0, contactsSince: 0, refreshedAt: 0, builtAt: 0, lastDurationMs: 0, lastUsedAt: 0, invalidated: false, wantContacts: false, inflight: null, inflightStarted: 0, timer: null, generation };
    slots.set(key, s);
  }
  return s;
}

/** After a write to a workspace's customers or contacts in this process: the next search refreshes first. */
export function invalidateCustomerSearch(workspaceId: Types.ObjectId | string): void {
  const s = slots.get(keyOf(typeof workspaceId === 'string' ? new Types.ObjectId(workspaceId) : workspaceId));
  if (s) s.invalidated = true;
}

/** Drops every index and stops background refreshes (tests; shutdown). */
export function resetCustomerSearch(): void {
  generation++;
  stats.builds = 0;
  stats.refreshes = 0;
  for (const s of slots.values()) if (s.timer) clearTimeout(s.timer);
  slots.clear();
}

/** Builds a workspace's index now (the bot can warm up before taking traffic); resolves with its size. */
export async function warmCustomerSearch(workspaceId: Types.ObjectId, opts: { contacts?: boolean } = {}): Promise<number> {
  const ix = await customerSearchIndex(workspaceId, { contacts: opts.contacts ?? false });
  return ix.size;
}

/**
 * The workspace's index, built or refreshed as the freshness settings require. With
 * `contacts`, the contact email map is loaded too.
 */
export async function customerSearchIndex(workspaceId: Types.ObjectId, opts: { contacts?: boolean } = {}): Promise<WorkspaceSearchIndex> {
  const s = slotFor(workspaceId);
  const f = freshness();
  const now = Date.now();
  s.lastUsedAt = now;
  if (opts.contacts) s.wantContacts = true;
  if (!s.index || (s.wantContacts && s.index.contactsByEmail === null)) {
    await fresh(s, 0); // nothing to answer from yet: always wait
  } else {
    // a refresh that started after this moment sees every write this query must see
    const after = s.invalidated ? now : now - f.maxStalenessMs;
    if (s.refreshedAt < after || s.invalidated) {
      const p = fresh(s, after);
      if (s.lastDurationMs <= f.maxWaitMs) await p;
      else p.catch(() => {}); // too slow to wait for (FerretDB at scale): answer from the index as it is
    }
  }
  schedule(s);
  return s.index!;
}

/** Resolves once a build/refresh that started at or after `after` has finished (joining one in flight). */
async function fresh(s: Slot, after: number): Promise<void> {
  for (;;) {
    if (s.inflight) {
      if (s.inflightStarted >= after) return s.inflight;
      await s.inflight.catch(() => {});
      continue;
    }
    if (s.index && s.refreshedAt >= after && !s.invalidated && !(s.wantContacts && s.index.contactsByEmail === null)) return;
    return run(s);
  }
}

/** Starts the workspace's one build/refresh. */
function run(s: Slot): Promise<void> {
  if (s.inflight) return s.inflight;
  const started = Date.now();
  s.inflightStarted = started;
  s.inflight = (async () => {
    try {
      s.invalidated = false;
      const f = freshness();
      if (!s.index || started - s.builtAt >= f.rebuildMs) await build(s, started);
      else await refresh(s, started);
      if (s.wantContacts && s.index!.contactsByEmail === null) await loadContacts(s, started);
      if (s.index!.wasteful) s.index = s.index!.compact();
      s.refreshedAt = started;
      s.lastDurationMs = Date.now() - started;
    } finally {
      s.inflight = null;
    }
  })();
  return s.inflight;
}

async function build(s: Slot, started: number): Promise<void> {
  stats.builds++;
  const ix = new WorkspaceSearchIndex({ bulk: true });
  await readRaw({ workspace_id: s.workspaceId }, ix);
  await readBillingRaw({ workspace_id: s.workspaceId }, ix);
  ix.sortNow();
  if (s.index?.contactsByEmail) {
    // rebuild contacts too (deleted contacts have no updatedAt to be found by)
    s.index = ix;
    await loadContacts(s, started);
  } else s.index = ix;
  s.since = started;
  s.builtAt = started;
  log.debug({ workspace_id: String(s.workspaceId), customers: ix.size, ms: Date.now() - started }, 'customer search index built');
}

async function loadContacts(s: Slot, started: number): Promise<void> {
  const docs = await Contact.find({ workspace_id: s.workspaceId }, CONTACT_FIELDS).lean<ContactDoc[]>();
  s.index!.setContacts(docs);
  s.contactsSince = started;
}

/**
 * Documents per cursor batch of the index scans. Small on purpose, for memory: the driver
 * parses every document it hands out into an element table and keeps them all until the
 * next batch replaces the batch, so a scavenge during the getMore finds a whole batch of
 * them alive. At 2,000 that promoted most of them to old space (and often got V8 to
 * pretenure the driver's allocation sites), ~1 KB per document per scan, and the heap
 * grew by hundreds of MB that V8 then kept: a 100,000-customer build (customers, then
 * billing) ended at ~680 MB RSS, ~450 MB at 100 (the live index is ~190 MB either way).
 * The cost is ~1,000 getMores per scan, a few seconds on FerretDB.
 */
const SCAN_BATCH = 100;

/** Streams matching customers' raw documents into the index (never holding them all decoded). */
async function readRaw(filter: Record<string, unknown>, ix: WorkspaceSearchIndex): Promise<void> {
  // search_grams is a lookup key the index recomputes; leaving it out saves a third of the bytes
  const cursor = Customer.collection.find(filter, { raw: true, batchSize: SCAN_BATCH, projection: { search_grams: 0 } });
  for await (const raw of cursor) ix.upsertRaw(raw as unknown as Uint8Array);
}

/** Streams billing versions' raw documents into the index (the newest per customer stays). */
async function readBillingRaw(filter: Record<string, unknown>, ix: WorkspaceSearchIndex): Promise<void> {
  const cursor = CustomerBilling.collection.find(filter, { raw: true, batchSize: SCAN_BATCH, projection: { workspace_id: 0 } });
  for await (const raw of cursor) ix.setBillingRaw(raw as unknown as Uint8Array);
}

async function refresh(s: Slot, started: number): Promise<void> {
  stats.refreshes++;
  const ix = s.index!;
  // one scan at a time: on FerretDB each is CPU-bound, and the bot shares the machine
  await readRaw({ workspace_id: s.workspaceId, updatedAt: { $gte: new Date(s.since - SKEW_MS) } }, ix);
  await readBillingRaw({ workspace_id: s.workspaceId, written_at: { $gte: new Date(s.since - SKEW_MS) } }, ix);
  const contacts = ix.contactsByEmail ? await Contact.find({ workspace_id: s.workspaceId, updatedAt: { $gte: new Date(s.contactsSince - SKEW_MS) } }, CONTACT_FIELDS).lean<ContactDoc[]>() : null;
  if (contacts) {
    ix.applyContacts(contacts);
    s.contactsSince = started;
  }
  s.since = started;
}

/** Background refresh while the index is in use: every backgroundMs, never more than a third of the time. */
function schedule(s: Slot): void {
  const f = freshness();
  if (s.timer || f.backgroundMs <= 0) return;
  const delay = Math.max(f.backgroundMs, 2 * s.lastDurationMs);
  s.timer = setTimeout(() => {
    s.timer = null;
    if (Date.now() - s.lastUsedAt > IN_USE_MS || s.generation !== generation) return;
    run(s)
      .catch((err) => log.warn({ err, workspace_id: String(s.workspaceId) }, 'customer search refresh failed'))
      .finally(() => {
        if (s.generation === generation) schedule(s);
      });
  }, delay);
  s.timer.unref();
}
