// Customer lookup shared by `/pivotal QUERY`, `pivotal customers show` and the portal's
// customer search: display id, then exact (name, domain, contact email), then prefix, then
// typo-tolerant. Archived customers are never offered; churned ones stay searchable.
//
// Every step is a bounded MongoDB query on an index of the customers collection
// ({workspace_id, display_id}, {workspace_id, name_lower}, {workspace_id, domain},
// {workspace_id, search_grams}) or of contacts ({workspace_id, email}); nothing is kept
// in process memory, so any number of bot instances answer for any number of tenants.
import { Types } from 'mongoose';
import { distance } from 'fastest-levenshtein';
import { normalizeDomain } from '../domain.ts';
import { AppError } from '../errors.ts';
import { Customer, WITHOUT_SEARCH_KEYS } from '../models/customer.ts';
import { Contact } from '../models/contact.ts';
import { attachBilling } from '../billing/store.ts';
import { lowerKey, trigrams } from './text.ts';

export type MatchKind = 'display_id' | 'exact' | 'prefix' | 'fuzzy' | 'none';

export interface SearchResult<T = any> {
  match: MatchKind;
  customers: T[];
  /** when nothing matched: the closest names, best first */
  suggestions: T[];
}

export const MAX_QUERY_LENGTH = 200;
/** the best-overlapping candidates of those that get an edit-distance score */
const FUZZY_CANDIDATES = 40;
/**
 * Trigrams read per query, each read stopping at PROBE_CAP + 1 customers. The cap is wide:
 * a sample of a gram's customers can miss the one meant ("ped umbrella 71271" among the 300
 * names with "712"), and on the embedded engine a read costs its whole match anyway
 * (README, engine notes), so a rare gram's full list costs about what 61 of it did.
 */
const MAX_PROBES = 3;
const PROBE_CAP = 400;
/**
 * Time bound (maxTimeMS) of each trigram read: one that does not finish in PROBE_MS is too
 * common to help and yields nothing. Every other lookup is an index point or range read.
 */
const PROBE_MS = 25;
/** similarity at which a typo-tolerant match is offered as the answer (below: suggestions) */
const CLOSE = 0.72;
/** characters of a name or domain compared by edit distance */
const COMPARED_LENGTH = 64;
/** rows read per step when archived customers have to be skipped */
const PAGE_SLACK = 20;

// Every filter below is answered by index bounds alone (equality, $in and ranges on indexed
// fields); archived customers are dropped after the read rather than with a `$ne` in the
// filter. Residual predicates cost a collection-sized scan on the embedded engine (README,
// engine notes), and the results here are a handful of rows either way.
const live = <T extends { status?: string }>(docs: T[]) => docs.filter((d) => d.status !== 'archived');

export async function searchCustomers(workspaceId: Types.ObjectId, rawQuery: string, opts: { limit?: number } = {}): Promise<SearchResult> {
  const limit = Math.min(Math.max(opts.limit ?? 10, 1), 100);
  if (typeof rawQuery === 'string' && rawQuery.length > MAX_QUERY_LENGTH * 2) throw tooLong();
  const query = lowerKey(rawQuery ?? '');
  if (!query) throw new AppError('bad_input', 'Type a customer name, domain, contact email or id');
  if (query.length > MAX_QUERY_LENGTH) throw tooLong();

  const found = (await byDisplayId(workspaceId, query)) ?? (await exact(workspaceId, query, limit)) ?? (await prefix(workspaceId, query, limit));
  if (found) return { ...found, customers: await attachBilling(found.customers), suggestions: [] };
  const scored = await fuzzy(workspaceId, query);
  const close = scored.filter((s) => s.score >= CLOSE).slice(0, limit);
  if (close.length) return { match: 'fuzzy', customers: await fullDocs(close.map((s) => s.id)), suggestions: [] };
  const suggestions = scored.filter((s) => s.score >= 0.34).slice(0, 3);
  return { match: 'none', customers: [], suggestions: await fullDocs(suggestions.map((s) => s.id)) };
}

const tooLong = () => new AppError('bad_input', `The search text is too long (at most ${MAX_QUERY_LENGTH} characters)`);

type Found = { match: MatchKind; customers: any[] };

async function byDisplayId(workspaceId: Types.ObjectId, query: string): Promise<Found | null> {
  const m = /^#?(\d{1,12})$/.exec(query);
  if (!m) return null;
  const docs = live(await Customer.find({ workspace_id: workspaceId, display_id: Number(m[1]) }, WITHOUT_SEARCH_KEYS).limit(1).lean());
  return docs.length ? { match: 'display_id', customers: docs } : null;
}

const STATUS_ORDER: Record<string, number> = { active: 0, at_risk: 1, churned: 2 };

async function exact(workspaceId: Types.ObjectId, query: string, limit: number): Promise<Found | null> {
  const domain = normalizeDomain(query);
  const take = limit + PAGE_SLACK;
  const [byName, byDomain, byEmail] = await Promise.all([
    Customer.find({ workspace_id: workspaceId, name_lower: query }, WITHOUT_SEARCH_KEYS).limit(take).lean(),
    domain ? Customer.find({ workspace_id: workspaceId, domain }, WITHOUT_SEARCH_KEYS).limit(take).lean() : [],
    query.includes('@') ? customersOfContact(workspaceId, query, take) : [],
  ]);
  const docs = live([...new Map([...byName, ...byDomain, ...byEmail].map((d) => [String(d._id), d])).values()]);
  if (!docs.length) return null;
  docs.sort((a, b) => (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3) || a.display_id - b.display_id);
  return { match: 'exact', customers: docs.slice(0, limit) };
}

async function customersOfContact(workspaceId: Types.ObjectId, email: string, take: number) {
  const contacts = await Contact.find({ workspace_id: workspaceId, email }, { customer_id: 1 }).limit(take).lean();
  return contacts.length ? Customer.find({ _id: { $in: contacts.map((c) => c.customer_id) } }, WITHOUT_SEARCH_KEYS).lean() : [];
}

/** Keys starting with `query` as an index range ($gte query, $lt the next string). */
const startsWith = (query: string) => ({ $gte: query, $lt: `${query}\uffff` });

/** Names or domains starting with the query: two index range scans, the first `limit` live ones by name. */
async function prefix(workspaceId: Types.ObjectId, query: string, limit: number): Promise<Found | null> {
  const [byName, byDomain] = await Promise.all([
    liveInOrder({ workspace_id: workspaceId, name_lower: startsWith(query) }, { name_lower: 1, display_id: 1 }, limit),
    liveInOrder({ workspace_id: workspaceId, domain: startsWith(query) }, { domain: 1, display_id: 1 }, limit),
  ]);
  const all = new Map([...byName, ...byDomain].map((d) => [String(d._id), d]));
  if (!all.size) return null;
  const ordered = [...all.values()].sort((a, b) => (a.name_lower < b.name_lower ? -1 : a.name_lower > b.name_lower ? 1 : a.display_id - b.display_id));
  return { match: 'prefix', customers: ordered.slice(0, limit) };
}

/** The first `limit` non-archived customers in index order, reading a few pages at most. */
async function liveInOrder(filter: Record<string, unknown>, sort: Record<string, 1>, limit: number): Promise<any[]> {
  const out: any[] = [];
  for (let skip = 0, page = 0; out.length < limit && page < 5; page++, skip += limit + PAGE_SLACK) {
    const docs = await Customer.find(filter, WITHOUT_SEARCH_KEYS).sort(sort).skip(skip).limit(limit + PAGE_SLACK).lean();
    out.push(...live(docs));
    if (docs.length < limit + PAGE_SLACK) break;
  }
  return out.slice(0, limit);
}

type Scored = { id: Types.ObjectId; score: number };
type Candidate = { _id: Types.ObjectId; name_lower?: string; domain?: string | null; status?: string; search_grams?: string[] };
const CANDIDATE_FIELDS = { name_lower: 1, domain: 1, status: 1, search_grams: 1 } as const;

/**
 * Typo-tolerant: the query's likeliest-rare trigrams each read up to PROBE_CAP + 1 customers
 * through the multikey index, in parallel and time-bounded (a rare trigram's read holds all
 * its customers; a common one's, a sample, or nothing when it runs out of time); the
 * candidates sharing the most trigrams with the whole query are scored by edit distance.
 * One round of reads: on the embedded engine a count costs what the read does.
 */
async function fuzzy(workspaceId: Types.ObjectId, query: string): Promise<Scored[]> {
  const grams = trigrams(query);
  if (!grams.length) return [];
  const reads = await Promise.all(
    probeOrder(grams)
      .slice(0, MAX_PROBES)
      .map((g) => Customer.find({ workspace_id: workspaceId, search_grams: g }, CANDIDATE_FIELDS).limit(PROBE_CAP + 1).maxTimeMS(PROBE_MS).lean().catch(unlessTimedOut([]))),
  );
  const rows = live([...new Map(reads.flat().map((d) => [String(d._id), d])).values()]);
  const wanted = new Set(grams);
  const overlapping = rows
    .map((d) => ({ d, overlap: (d.search_grams ?? []).filter((g: string) => wanted.has(g)).length }))
    .sort((a, b) => b.overlap - a.overlap)
    .slice(0, FUZZY_CANDIDATES)
    .map(({ d }) => d);
  return scoreCandidates(query, overlapping);
}

/** Edit-distance similarity of each candidate's name, domain and domain label to the query, best first. */
function scoreCandidates(query: string, docs: Candidate[]): Scored[] {
  const q = query.slice(0, COMPARED_LENGTH);
  return docs
    .map((d) => {
      const domain = String(d.domain ?? '').slice(0, COMPARED_LENGTH);
      const label = domain.split('.')[0] ?? '';
      const score = Math.max(similarity(q, String(d.name_lower ?? '').slice(0, COMPARED_LENGTH)), domain ? similarity(q, domain) : 0, label ? similarity(q, label) : 0);
      return { id: d._id, score };
    })
    .sort((a, b) => b.score - a.score);
}

/**
 * Trigrams likeliest to be rare first: inside words with digits, inside words, word starts,
 * and a word's first letter alone ("  a") last: those are the commonest, and on the embedded
 * engine even a capped count costs a trigram's whole posting list (README, engine notes).
 */
function probeOrder(grams: string[]): string[] {
  const rank = (g: string) => (g.startsWith('  ') ? 3 : g.startsWith(' ') ? 2 : /\d/.test(g) ? 0 : 1);
  return [...grams].sort((a, b) => rank(a) - rank(b));
}

/** A query stopped by its maxTimeMS answers `fallback`; any other error stays an error. */
export const unlessTimedOut =
  <T>(fallback: T) =>
  (e: unknown): T => {
    if ((e as { code?: number })?.code === 50) return fallback; // MaxTimeMSExpired
    throw e;
  };

async function fullDocs(ids: Types.ObjectId[]): Promise<any[]> {
  if (!ids.length) return [];
  const byId = new Map((await Customer.find({ _id: { $in: ids } }, WITHOUT_SEARCH_KEYS).lean()).map((d) => [String(d._id), d]));
  return attachBilling(ids.map((id) => byId.get(String(id))).filter(Boolean) as any[]);
}

const WORD_SPLIT = /[^\p{L}\p{N}]+/u;

/** Similarity in [0, 1] between the query and a lowercased name or domain, word by word. */
function similarity(q: string, c: string): number {
  if (!q || !c) return 0;
  let best = 1 - distance(q, c) / Math.max(q.length, c.length);
  // "acme" vs "acme corporation": compare against the same number of leading characters too
  if (c.length > q.length) best = Math.max(best, (1 - distance(q, c.slice(0, q.length)) / q.length) * 0.95);
  for (const word of c.split(WORD_SPLIT)) {
    if (word.length < 3) continue;
    best = Math.max(best, (1 - distance(q, word) / Math.max(q.length, word.length)) * 0.9);
  }
  return best;
}
