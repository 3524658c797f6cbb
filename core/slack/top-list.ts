// Short "top N by an indexed field" lists (the Slack at-risk and failing lists) read cheaply.
// The Nth value of the last answer is remembered per list, and the next read asks only for
// rows up to that value. When that read finds N rows they are exactly the top N (every row
// beyond the bound ranks lower), so a remembered bound changes what a read costs, never what
// it returns; when it finds fewer (the list shrank), the unbounded read runs and the bound is
// learnt again. Why: the embedded engine materialises a query's whole match before applying
// its limit (README, engine notes), so one sorted read of 4,000 failing customers costs 4,000
// rows even for 20; on MongoDB the bounded read is the same index walk, only shorter.
import { LRUCache } from 'lru-cache';

/** at most this many lists (workspace × list) remember a bound: a few hundred KB */
const REMEMBERED_LISTS = 10_000;
const bounds = new LRUCache<string, number>({ max: REMEMBERED_LISTS });
/** full reads in flight per list: callers arriving meanwhile share one instead of each starting one */
const fullReads = new Map<string, Promise<unknown[]>>();

/**
 * The first `limit` rows of a list sorted by one numeric field. `read(bound)` returns the list
 * in order, limited to `limit`, with only rows on the near side of `bound` (inclusive) when a
 * bound is given; `valueOf` is a row's value of the sorted field.
 */
export async function topOfList<T>(list: string, limit: number, read: (bound?: number) => Promise<T[]>, valueOf: (row: T) => number | null | undefined): Promise<T[]> {
  const bound = bounds.get(list);
  const bounded = bound === undefined ? [] : await read(bound);
  const rows = bounded.length >= limit ? bounded : await sharedFullRead(list, read);
  const nth = rows.length >= limit ? valueOf(rows[limit - 1]!) : null;
  if (typeof nth === 'number') bounds.set(list, nth);
  else bounds.delete(list);
  return rows.slice(0, limit);
}

function sharedFullRead<T>(list: string, read: () => Promise<T[]>): Promise<T[]> {
  let pending = fullReads.get(list) as Promise<T[]> | undefined;
  if (!pending) {
    pending = read().finally(() => fullReads.delete(list));
    fullReads.set(list, pending);
  }
  return pending;
}
