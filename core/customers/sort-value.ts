// A customer list's sort values: reading one off a document, and comparing two the way a
// MongoDB index orders them (null first, then numbers, strings by code point, dates).
export type SortValue = string | number | Date | null;

export const keyOf = (doc: any, path: string): SortValue => path.split('.').reduce((v, p) => (v == null ? null : v[p]), doc) ?? null;

/** Index order of two values of one key. */
export function compareValues(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (a instanceof Date || b instanceof Date) return new Date(a as Date).getTime() - new Date(b as Date).getTime();
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return typeof a === 'number' ? -1 : 1;
}
