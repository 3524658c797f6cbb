// Customer lookup shared by `/pivotal QUERY` and `pivotal customers show`: display id,
// then exact (name, domain, contact email), then prefix, then typo-tolerant. Archived
// customers are never offered; churned ones stay searchable.
//
// Matching and the documents returned come from the in-memory index of search-index.ts
// (FerretDB v1 answers every query, `_id` lookups included, with a collection scan), so a
// search reads nothing from the database once the index is warm.
import { Types } from 'mongoose';
import { distance } from 'fastest-levenshtein';
import { normalizeDomain } from '../domain.ts';
import { AppError } from '../errors.ts';
import { lowerKey, trigrams } from './text.ts';
import { customerSearchIndex, type WorkspaceSearchIndex } from './search-index.ts';

export type MatchKind = 'display_id' | 'exact' | 'prefix' | 'fuzzy' | 'none';

export interface SearchResult<T = any> {
  match: MatchKind;
  customers: T[];
  /** when nothing matched: the closest names, best first */
  suggestions: T[];
}

export const MAX_QUERY_LENGTH = 200;
/** typo-tolerant candidates scored per query (the best-overlapping ones) */
const FUZZY_CANDIDATES = 800;

interface Plan {
  match: MatchKind;
  slots: number[];
  /** for 'none': suggestion slots */
  suggestions: number[];
}

export async function searchCustomers(workspaceId: Types.ObjectId, rawQuery: string, opts: { limit?: number } = {}): Promise<SearchResult> {
  const limit = opts.limit ?? 10;
  const query = lowerKey(rawQuery ?? '');
  if (!query) throw new AppError('bad_input', 'Type a customer name, domain, contact email or id');
  if (query.length > MAX_QUERY_LENGTH) throw new AppError('bad_input', `The search text is too long (at most ${MAX_QUERY_LENGTH} characters)`);
  const ix = await customerSearchIndex(workspaceId, { contacts: query.includes('@') });

  const plan = planSearch(ix, query, limit);
  const docs = (slots: number[]) => slots.map((slot) => ix.doc(slot));
  if (plan.match === 'none') return { match: 'none', customers: [], suggestions: docs(plan.suggestions) };
  return { match: plan.match, customers: docs(plan.slots), suggestions: [] };
}

/** Which customers answer the query, from the index alone. */
function planSearch(ix: WorkspaceSearchIndex, query: string, limit: number): Plan {
  const idMatch = /^#?(\d{1,12})$/.exec(query);
  if (idMatch) {
    const slots = ix.byDisplay(Number(idMatch[1]));
    if (slots.length) return { match: 'display_id', slots: slots.slice(0, 1), suggestions: [] };
  }

  const domain = normalizeDomain(query);
  const exact = ix.exact(query, domain, query.includes('@') ? query : null);
  if (exact.length) {
    const byStatus = exact.sort((a, b) => (ix.statuses[a]! < ix.statuses[b]! ? -1 : ix.statuses[a]! > ix.statuses[b]! ? 1 : ix.displayIds[a]! - ix.displayIds[b]!));
    return { match: 'exact', slots: byStatus.slice(0, limit), suggestions: [] };
  }

  const byPrefix = ix.prefix(query, limit);
  if (byPrefix.length) return { match: 'prefix', slots: byPrefix, suggestions: [] };

  const scored = fuzzyCandidates(ix, query, 400);
  const close = scored.filter((s) => s.score >= 0.72).slice(0, limit).map((s) => s.slot);
  if (close.length) return { match: 'fuzzy', slots: close, suggestions: [] };
  return { match: 'none', slots: [], suggestions: scored.filter((s) => s.score >= 0.34).slice(0, 3).map((s) => s.slot) };
}

const WORD_SPLIT = /[^\p{L}\p{N}]+/u;

/**
 * Similarity in [0, 1] between the query and a name or domain, word by word. Both are
 * already lowercased with lowerKey (the index stores them so).
 */
function similarityLower(q: string, c: string): number {
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

function fuzzyCandidates(ix: WorkspaceSearchIndex, query: string, max: number) {
  const grams = trigrams(query);
  if (!grams.length) return [];
  return ix
    .gramCandidates(grams, FUZZY_CANDIDATES)
    .map((slot) => {
      // query and index keys are both lowerKey()ed already: compare them as they are
      const domain = ix.domains[slot] ?? '';
      const score = Math.max(similarityLower(query, ix.names[slot]!), domain ? similarityLower(query, domain) : 0, domain ? similarityLower(query, ix.label(slot) ?? '') : 0);
      return { slot, score };
    })
    .sort((a, b) => b.score - a.score)
    .slice(0, max);
}
