// Customer lookup shared by `/pivotal QUERY`, `pivotal customers show` and the portal's
// customer search: display id, then exact (name, domain, contact email), then prefix, then
// typo-tolerant. Archived customers are never offered; churned ones stay searchable.
//
// Every step is one bounded MongoDB query on an index of the customers collection
// ({workspace_id, display_id}, {workspace_id, name_lower}, {workspace_id, domain},
// {workspace_id, search_grams}) or of contacts ({workspace_id, email}); nothing is kept
// in process memory, so any number of bot instances answer for any number of tenants.
import { Types } from 'mongoose';
import { distance } from 'fastest-levenshtein';
import { normalizeDomain } from '../domain.ts';
import { AppError } from '../errors.ts';
import { Customer } from '../models/customer.ts';
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
/** customers one fuzzy query may examine through the gram index (bounds its cost at any book size) */
const FUZZY_SCAN = 5_000;
/** the best-overlapping candidates of those that get an edit-distance score */
const FUZZY_CANDIDATES = 200;
/** characters of a name or domain compared by edit distance */
const COMPARED_LENGTH = 64;

const LIVE = { $ne: 'archived' as const };
const NO_GRAMS = { search_grams: 0 } as const;

export async function searchCustomers(workspaceId: Types.ObjectId, rawQuery: string, opts: { limit?: number } = {}): Promise<SearchResult> {
  const limit = Math.min(Math.max(opts.limit ?? 10, 1), 100);
  if (typeof rawQuery === 'string' && rawQuery.length > MAX_QUERY_LENGTH * 2) throw tooLong();
  const query = lowerKey(rawQuery ?? '');
  if (!query) throw new AppError('bad_input', 'Type a customer name, domain, contact email or id');
  if (query.length > MAX_QUERY_LENGTH) throw tooLong();

  const found = (await byDisplayId(workspaceId, query)) ?? (await exact(workspaceId, query, limit)) ?? (await prefix(workspaceId, query, limit));
  if (found) return { ...found, customers: await attachBilling(found.customers), suggestions: [] };
  const scored = await fuzzy(workspaceId, query);
  const close = scored.filter((s) => s.score >= 0.72).slice(0, limit).map((s) => s.doc);
  if (close.length) return { match: 'fuzzy', customers: await attachBilling(close), suggestions: [] };
  const suggestions = scored.filter((s) => s.score >= 0.34).slice(0, 3).map((s) => s.doc);
  return { match: 'none', customers: [], suggestions: await attachBilling(suggestions) };
}

const tooLong = () => new AppError('bad_input', `The search text is too long (at most ${MAX_QUERY_LENGTH} characters)`);

type Found = { match: MatchKind; customers: any[] };

async function byDisplayId(workspaceId: Types.ObjectId, query: string): Promise<Found | null> {
  const m = /^#?(\d{1,12})$/.exec(query);
  if (!m) return null;
  const doc = await Customer.findOne({ workspace_id: workspaceId, display_id: Number(m[1]), status: LIVE }, NO_GRAMS).lean();
  return doc ? { match: 'display_id', customers: [doc] } : null;
}

const STATUS_ORDER: Record<string, number> = { active: 0, at_risk: 1, churned: 2 };

async function exact(workspaceId: Types.ObjectId, query: string, limit: number): Promise<Found | null> {
  const domain = normalizeDomain(query);
  const or: Record<string, unknown>[] = [{ name_lower: query }];
  if (domain) or.push({ domain });
  if (query.includes('@')) {
    const owners = await Contact.find({ workspace_id: workspaceId, email: query }, { customer_id: 1 }).limit(limit).lean();
    if (owners.length) or.push({ _id: { $in: owners.map((c) => c.customer_id) } });
  }
  const docs = await Customer.find({ workspace_id: workspaceId, status: LIVE, $or: or }, NO_GRAMS).sort({ display_id: 1 }).limit(limit * 3).lean();
  if (!docs.length) return null;
  docs.sort((a, b) => (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3) || a.display_id - b.display_id);
  return { match: 'exact', customers: docs.slice(0, limit) };
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Names or domains starting with the query: two index range scans, the first `limit` by name. */
async function prefix(workspaceId: Types.ObjectId, query: string, limit: number): Promise<Found | null> {
  const starts = new RegExp(`^${escapeRegex(query)}`);
  const [byName, byDomain] = await Promise.all([
    Customer.find({ workspace_id: workspaceId, name_lower: starts, status: LIVE }, NO_GRAMS).sort({ name_lower: 1, display_id: 1 }).limit(limit).lean(),
    Customer.find({ workspace_id: workspaceId, domain: starts, status: LIVE }, NO_GRAMS).sort({ domain: 1 }).limit(limit).lean(),
  ]);
  const all = new Map([...byName, ...byDomain].map((d) => [String(d._id), d]));
  if (!all.size) return null;
  const ordered = [...all.values()].sort((a, b) => (a.name_lower < b.name_lower ? -1 : a.name_lower > b.name_lower ? 1 : a.display_id - b.display_id));
  return { match: 'prefix', customers: ordered.slice(0, limit) };
}

/**
 * Typo-tolerant: customers sharing trigrams with the query (multikey index), the best
 * overlapping ones scored by edit distance on name, domain and domain label, best first.
 */
async function fuzzy(workspaceId: Types.ObjectId, query: string): Promise<{ doc: any; score: number }[]> {
  const grams = trigrams(query);
  if (!grams.length) return [];
  const candidates = await Customer.aggregate([
    { $match: { workspace_id: workspaceId, search_grams: { $in: grams }, status: LIVE } },
    { $limit: FUZZY_SCAN },
    { $addFields: { overlap: { $size: { $setIntersection: ['$search_grams', grams] } } } },
    { $sort: { overlap: -1, display_id: 1 } },
    { $limit: FUZZY_CANDIDATES },
    { $project: { search_grams: 0, overlap: 0 } },
  ]);
  const q = query.slice(0, COMPARED_LENGTH);
  return candidates
    .map((doc) => {
      const domain = String(doc.domain ?? '').slice(0, COMPARED_LENGTH);
      const label = domain.split('.')[0] ?? '';
      const score = Math.max(similarity(q, String(doc.name_lower ?? '').slice(0, COMPARED_LENGTH)), domain ? similarity(q, domain) : 0, label ? similarity(q, label) : 0);
      return { doc, score };
    })
    .sort((a, b) => b.score - a.score);
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
