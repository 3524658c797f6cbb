// Keyset walk of one customer index for the portal's lists: the rows after a position, in the
// index's order (the sort key, then display_id; nulls first ascending, last descending), read
// in batches (the first as large as the caller expects to need, later ones up to WINDOW_ROWS,
// a window between two fences being ~200 rows). Every read is a plain index-bounded query over one window
// of the key space between two fences (fences.ts): the ties of the last key, then the ranges
// between cuts, a heavily tied cut's rows in display_id chunks, then the nulls. The windows
// always cover every key, so stale fences cost reads, never rows.
import { Customer, WITHOUT_SEARCH_KEYS } from '../models/customer.ts';
import { NO_FENCES, type Cut, type Fences } from './fences.ts';
import { compareValues, keyOf, type SortValue } from './sort-value.ts';

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

/** rows a read after the first returns at most */
export const WINDOW_ROWS = 400;
/** the least value of each kind: `{$gte: MIN}` is every non-null value of that kind */
const MIN: Record<KeyKind, SortValue> = { string: '', number: -Infinity, date: new Date(-8.64e15) };

/** A window's filter beyond `eq`: conditions on the key and/or display_id. */
type Window = Record<string, unknown>;
type Bound = { v: SortValue; inclusive: boolean } | null;

const range = (path: string, lo: Bound, hi: Bound): Window =>
  !lo && !hi ? {} : { [path]: { ...(lo ? { [lo.inclusive ? '$gte' : '$gt']: lo.v } : {}), ...(hi ? { [hi.inclusive ? '$lte' : '$lt']: hi.v } : {}) } };

/**
 * The rows tying on `v` past display id `from` (exclusive; null: from the start), in chunks of
 * display ids expected to hold about one fence step each when many rows tie.
 */
function* ties(path: string | null, v: SortValue, samples: number, from: number | null, dir: 1 | -1, f: Fences): Generator<Window> {
  const eq = path ? { [path]: v } : {};
  const span = samples > 1 ? Math.ceil(f.maxDisplayId / samples) : Infinity;
  let edge = from;
  for (;;) {
    if (dir === 1) {
      const lo = edge ?? 0;
      if (lo + span >= f.maxDisplayId) return yield { ...eq, display_id: { $gt: lo } };
      yield { ...eq, display_id: { $gt: lo, $lte: lo + span } };
      edge = lo + span;
    } else {
      const hi = edge ?? f.maxDisplayId + 1;
      if (hi - span <= 1) return yield { ...eq, ...(edge === null ? {} : { display_id: { $lt: hi } }) };
      yield { ...eq, display_id: { $gte: hi - span, ...(edge === null ? {} : { $lt: hi }) } };
      edge = hi - span;
    }
  }
}

/** Non-null keys beyond `edge` in walk order, window by window; `floor` bounds the last window descending. */
function* beyond(path: string, edge: Bound, dir: 1 | -1, f: Fences, floor: Bound = null): Generator<Window> {
  const side = (c: Cut) => (edge === null ? true : dir * compareValues(c.v, edge.v) > 0);
  const cuts = f.cuts.filter((c) => c.v !== null && side(c));
  if (dir === -1) cuts.reverse();
  for (const cut of cuts) {
    // a lightly tied cut closes its window; a heavy one gets chunked windows of its own
    const light = cut.samples <= 1;
    yield dir === 1 ? range(path, edge, { v: cut.v, inclusive: light }) : range(path, { v: cut.v, inclusive: light }, edge);
    if (!light) yield* ties(path, cut.v, cut.samples, null, dir, f);
    edge = { v: cut.v, inclusive: false };
  }
  yield dir === 1 ? range(path, edge, null) : range(path, floor, edge);
}

/** Every window after `pos`, in walk order. */
function* windowsAfter(spec: WalkSpec, pos: Position | null, f: Fences): Generator<Window> {
  const { key, dir } = spec;
  if (!key) return yield* beyond('display_id', pos ? { v: pos.d, inclusive: false } : null, dir, f);
  const samplesOf = (v: SortValue) => f.cuts.find((c) => compareValues(c.v, v) === 0)?.samples ?? 0;
  const all: Bound = { v: MIN[key.kind], inclusive: true };
  const nulls = () => (key.nullable ? ties(key.path, null, samplesOf(null), null, dir, f) : []);
  if (dir === 1) {
    if (!pos) {
      yield* nulls();
      return yield* beyond(key.path, all, 1, f);
    }
    yield* ties(key.path, pos.k, samplesOf(pos.k), pos.d, 1, f);
    return yield* beyond(key.path, pos.k === null ? all : { v: pos.k, inclusive: false }, 1, f);
  }
  if (pos) yield* ties(key.path, pos.k, samplesOf(pos.k), pos.d, -1, f);
  if (pos?.k === null) return;
  yield* beyond(key.path, pos ? { v: pos.k, inclusive: false } : null, -1, f, all);
  yield* nulls();
}

/** The rows after `from` (exclusive) in the index's order; `firstRows` bounds the first read. */
export async function* walkIndex(spec: WalkSpec, from: Position | null, fences: Fences = NO_FENCES, firstRows = WINDOW_ROWS): AsyncGenerator<any> {
  const path = spec.key?.path;
  const sort = path ? { [path]: spec.dir, display_id: spec.dir } : { display_id: spec.dir };
  let pos = from;
  for (let limit = firstRows; ; limit = WINDOW_ROWS) {
    let batch: any[] = [];
    for (const window of windowsAfter(spec, pos, fences)) {
      batch = await Customer.find({ ...spec.eq, ...window }, WITHOUT_SEARCH_KEYS).sort(sort).limit(limit).lean<any[]>();
      if (batch.length) break;
    }
    if (!batch.length) return;
    yield* batch;
    const last = batch[batch.length - 1];
    pos = { k: path ? keyOf(last, path) : null, d: last.display_id };
  }
}
