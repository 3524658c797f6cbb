// Keyset walk of one customer index for the portal's lists: the rows after a position, in the
// index's order (the sort key, then display_id; nulls first ascending, last descending), read
// in batches of WINDOW_ROWS. Every read is a plain index-bounded query: the ties of the last
// key (equality + display_id range), then the keys beyond it (a range), then the nulls.
import { Customer, WITHOUT_SEARCH_KEYS } from '../models/customer.ts';

export type SortValue = string | number | Date | null;
export interface Position {
  k: SortValue;
  d: number;
}
export type KeyKind = 'string' | 'number' | 'date';

/** The type of a sort key's values (what "every non-null value" is as an index range), and whether it can be null. */
export interface KeyHints {
  kind: KeyKind;
  /** false when every customer has the key (a required field): the walk reads no nulls */
  nullable: boolean;
}

export interface WalkSpec {
  /** equality filter the index starts with, e.g. {workspace_id, status} */
  eq: Record<string, unknown>;
  /** the sort key (null: display_id alone) */
  key: ({ path: string } & KeyHints) | null;
  dir: 1 | -1;
}

/** rows one read returns at most */
export const WINDOW_ROWS = 100;
/** the least value of each kind: `{$gte: MIN}` is every non-null value of that kind */
const MIN: Record<KeyKind, SortValue> = { string: '', number: -Infinity, date: new Date(-8.64e15) };

export const keyOf = (doc: any, path: string): SortValue => path.split('.').reduce((v, p) => (v == null ? null : v[p]), doc) ?? null;

type Segment = { filter: Record<string, unknown>; sort: Record<string, 1 | -1> };

/** The reads that follow `pos`, in walk order; the first one with rows gives the next batch. */
function segmentsAfter(spec: WalkSpec, pos: Position | null): Segment[] {
  const { key, dir } = spec;
  const after = dir === 1 ? '$gt' : '$lt';
  const byId = { display_id: dir };
  if (!key) return [{ filter: pos ? { display_id: { [after]: pos.d } } : {}, sort: byId }];
  const byKey = { [key.path]: dir, display_id: dir };
  // Ties and nulls are sorted by the key too (fixed there): that names the index to read.
  const ties = (k: SortValue): Segment => ({ filter: { [key.path]: k, ...(pos ? { display_id: { [after]: pos.d } } : {}) }, sort: byKey });
  const nonNull: Segment = { filter: { [key.path]: { $gte: MIN[key.kind] } }, sort: byKey };
  const nulls: Segment[] = key.nullable ? [{ filter: { [key.path]: null }, sort: byKey }] : [];
  if (dir === 1) {
    if (!pos) return [...nulls, nonNull];
    if (pos.k === null) return [ties(null), nonNull];
    return [ties(pos.k), { filter: { [key.path]: { [after]: pos.k } }, sort: byKey }];
  }
  if (!pos) return [nonNull, ...nulls];
  if (pos.k === null) return [ties(null)];
  return [ties(pos.k), { filter: { [key.path]: { [after]: pos.k } }, sort: byKey }, ...nulls];
}

/** The rows after `from` (exclusive) in the index's order. */
export async function* walkIndex(spec: WalkSpec, from: Position | null): AsyncGenerator<any> {
  let pos = from;
  for (;;) {
    let batch: any[] = [];
    for (const seg of segmentsAfter(spec, pos)) {
      batch = await Customer.find({ ...spec.eq, ...seg.filter }, WITHOUT_SEARCH_KEYS).sort(seg.sort).limit(WINDOW_ROWS).lean<any[]>();
      if (batch.length) break;
    }
    if (!batch.length) return;
    yield* batch;
    const last = batch[batch.length - 1];
    pos = { k: spec.key ? keyOf(last, spec.key.path) : null, d: last.display_id };
  }
}
