// Customer lookup shared by `/pivotal QUERY` and `pivotal customers show`: display id,
// then exact (name, domain, contact email), then prefix, then typo-tolerant. Archived
// customers are never offered; churned ones stay searchable.
import type { Types } from 'mongoose';
import { distance } from 'fastest-levenshtein';
import { Customer } from '../models/customer.ts';
import { Contact } from '../models/contact.ts';
import { normalizeDomain } from '../domain.ts';
import { AppError } from '../errors.ts';
import { lowerKey, trigrams } from './text.ts';

export type MatchKind = 'display_id' | 'exact' | 'prefix' | 'fuzzy' | 'none';

export interface SearchResult<T = any> {
  match: MatchKind;
  customers: T[];
  /** when nothing matched: the closest names, best first */
  suggestions: T[];
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const notArchived = { status: { $ne: 'archived' as const } };

export const MAX_QUERY_LENGTH = 200;

export async function searchCustomers(workspaceId: Types.ObjectId, rawQuery: string, opts: { limit?: number } = {}): Promise<SearchResult> {
  const limit = opts.limit ?? 10;
  const query = lowerKey(rawQuery ?? '');
  if (!query) throw new AppError('bad_input', 'Type a customer name, domain, contact email or id');
  if (query.length > MAX_QUERY_LENGTH) throw new AppError('bad_input', `The search text is too long (at most ${MAX_QUERY_LENGTH} characters)`);
  const base = { workspace_id: workspaceId, ...notArchived };

  const idMatch = /^#?(\d{1,12})$/.exec(query);
  if (idMatch) {
    const byId = await Customer.findOne({ ...base, display_id: Number(idMatch[1]) }).lean();
    if (byId) return { match: 'display_id', customers: [byId], suggestions: [] };
  }

  const domain = normalizeDomain(query);
  const or: Record<string, unknown>[] = [{ name_lower: query }];
  if (domain) or.push({ domain });
  if (query.includes('@')) {
    const contacts = await Contact.find({ workspace_id: workspaceId, email: query, customer_id: { $ne: null } }, { customer_id: 1 }).limit(limit).lean();
    if (contacts.length) or.push({ _id: { $in: contacts.map((c) => c.customer_id) } });
  }
  const exact = await Customer.find({ ...base, $or: or }).sort({ status: 1, display_id: 1 }).limit(limit).lean();
  if (exact.length) return { match: 'exact', customers: exact, suggestions: [] };

  const prefix = new RegExp(`^${escapeRegex(query)}`);
  const prefixOr: Record<string, unknown>[] = [{ name_lower: prefix }, { domain: prefix }];
  const byPrefix = await Customer.find({ ...base, $or: prefixOr }).sort({ name_lower: 1 }).limit(limit).lean();
  if (byPrefix.length) return { match: 'prefix', customers: byPrefix, suggestions: [] };

  const scored = await fuzzyCandidates(workspaceId, query, 400);
  const close = scored.filter((s) => s.score >= 0.72).slice(0, limit).map((s) => s.customer);
  if (close.length) return { match: 'fuzzy', customers: close, suggestions: [] };
  return { match: 'none', customers: [], suggestions: scored.filter((s) => s.score >= 0.34).slice(0, 3).map((s) => s.customer) };
}

/** Similarity in [0, 1] between the query and a name or domain, word by word. */
export function similarity(query: string, candidate: string): number {
  const q = lowerKey(query);
  const c = lowerKey(candidate);
  if (!q || !c) return 0;
  const whole = 1 - distance(q, c) / Math.max(q.length, c.length);
  let best = whole;
  // "acme" vs "acme corporation": compare against the same number of leading characters too
  if (c.length > q.length) {
    const head = c.slice(0, q.length);
    best = Math.max(best, (1 - distance(q, head) / q.length) * 0.95);
  }
  for (const word of c.split(/[^\p{L}\p{N}]+/u)) {
    if (word.length < 3) continue;
    best = Math.max(best, (1 - distance(q, word) / Math.max(q.length, word.length)) * 0.9);
  }
  return best;
}

async function fuzzyCandidates(workspaceId: Types.ObjectId, query: string, max: number) {
  const grams = trigrams(query);
  if (!grams.length) return [];
  const docs = await Customer.find({ workspace_id: workspaceId, ...notArchived, search_grams: { $in: grams } }).limit(max * 5).lean();
  return docs
    .map((customer) => {
      const label = customer.domain ?? '';
      const score = Math.max(similarity(query, customer.name), label ? similarity(query, label) : 0, label ? similarity(query, label.split('.')[0] ?? '') : 0);
      return { customer, score };
    })
    .sort((a, b) => b.score - a.score)
    .slice(0, max);
}
