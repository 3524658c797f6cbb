// Keyset walk of one customer index in bounded windows, for lists over large books.
//
// A page query whose bounds hold N index entries costs ~N on the embedded engine whatever
// its `limit` (README, engine notes: 88,000 active customers sorted by name take ~350 ms for
// 50 rows; the same sort inside a window of 400 entries takes ~5 ms). So a walk never asks
// for "everything after the cursor": it reads consecutive windows `[lo, hi)` of the sort key
// whose width adapts to what the previous window held (wider while sparse), each under
// `maxTimeMS` and narrowed when one runs out of time. Windows are contiguous, so the rows
// come out in exact index order; the widths only decide the cost. Ties on the sort key are
// ordered by display_id (the index's last field), walked the same way.
import { Customer, WITHOUT_SEARCH_KEYS } from '../models/customer.ts';
import { unlessTimedOut } from './search.ts';

export type SortValue = string | number | Date | null;
export interface Position {
  k: SortValue;
  d: number;
}
export type KeyKind = 'string' | 'number' | 'date';

export interface WalkSpec {
  /** equality filter the index starts with, e.g. {workspace_id, status} */
  eq: Record<string, unknown>;
  /** the sort key (null: display_id alone) */
  key: ({ path: string } & KeyHints) | null;
  dir: 1 | -1;
  /** the index, passed as a hint so every window uses it */
  hint: Record<string, 1 | -1>;
}

/** rows one window query returns at most */
export const WINDOW_ROWS = 100;
/** a window that takes longer is narrowed and read again */
const WINDOW_MS = 60;
const NO_GRAMS = WITHOUT_SEARCH_KEYS;
const DISPLAY_ID: KeyHints = { kind: 'number', width: 256, top: 2 ** 31 };
const BATCH_END = Symbol('batch end');

export const keyOf = (doc: any, path: string): SortValue => path.split('.').reduce((v, p) => (v == null ? null : v[p]), doc) ?? null;

/** The rows after `from` (exclusive) in the index's order, read window by window. */
export async function* walkIndex(spec: WalkSpec, from: Position | null): AsyncGenerator<any> {
  const key = spec.key;
  if (!key) {
    yield* rangeWalk(spec, 'display_id', DISPLAY_ID, from ? from.d : null, {});
    return;
  }
  const ties = (k: SortValue, d: number | null) => rangeWalk(spec, 'display_id', DISPLAY_ID, d, { [key.path]: k }, true);
  // nulls sort first ascending, last descending
  if (spec.dir === 1) {
    yield* ties(from?.k ?? null, from ? from.d : null);
    yield* keyWalk(spec, key, from?.k ?? null);
    return;
  }
  if (from && from.k !== null) {
    yield* ties(from.k, from.d);
    yield* keyWalk(spec, key, from.k);
  } else if (!from) {
    yield* keyWalk(spec, key, null);
  }
  yield* ties(null, from && from.k === null ? from.d : null);
}

/** Rows whose key lies strictly beyond `after` (null: every non-null key). */
async function* keyWalk(spec: WalkSpec, key: { path: string } & KeyHints, after: SortValue): AsyncGenerator<any> {
  for await (const doc of rangeWalk(spec, key.path, key, after, {})) {
    const end = doc[BATCH_END];
    delete doc[BATCH_END];
    yield doc;
    if (end) {
      // a full window: the rest of this key's ties, then the keys beyond it
      const k = keyOf(doc, key.path);
      yield* rangeWalk(spec, 'display_id', DISPLAY_ID, doc.display_id, { [key.path]: k }, true);
      yield* keyWalk(spec, key, k);
      return;
    }
  }
}

/**
 * Windows of `field` beyond `after` (exclusive; null = from the start), with `extra` added to
 * the equality filter. When the field is not unique, the last row of a full window is marked
 * and the walk stops there (the caller reads that key's ties, then goes on). `tryWhole`: ask
 * for everything at once first, under the time bound (a key's ties are usually a handful).
 */
async function* rangeWalk(spec: WalkSpec, field: string, hints: KeyHints, after: SortValue, extra: Record<string, unknown>, tryWhole = false): AsyncGenerator<any> {
  const win = new Window(hints, spec.dir, after);
  if (tryWhole) win.whole();
  for (;;) {
    const rows = await Customer.find({ ...spec.eq, ...extra, [field]: win.bounds() }, NO_GRAMS)
      .sort(field === 'display_id' ? { display_id: spec.dir } : { [field]: spec.dir, display_id: spec.dir })
      .hint(spec.hint)
      .limit(WINDOW_ROWS)
      .maxTimeMS(win.canNarrow() ? WINDOW_MS : 0)
      .lean<any[]>()
      .catch(unlessTimedOut(null));
    if (rows === null) {
      win.narrow();
      continue;
    }
    if (rows.length === WINDOW_ROWS) {
      const last = rows[rows.length - 1];
      if (field !== 'display_id') {
        last[BATCH_END] = true;
        yield* rows;
        return;
      }
      yield* rows;
      win.restartAfter(last.display_id);
      continue;
    }
    yield* rows;
    if (win.isLast()) return;
    win.advance(rows.length);
  }
}

/**
 * The window of a key's range read next, in walk order: it starts at `edge` (exclusive on the
 * first window after a cursor, inclusive afterwards since the previous window excluded it),
 * widens ×16 (strings: two steps) while windows come back empty and ×2 while sparse, and narrows ÷8 when one runs
 * out of time. Numbers and dates widen additively (a descending number window never reaches
 * below a quarter of its edge, so a walk from the top reaches dense values in a few steps);
 * strings widen by bumping a code point of the edge at a shallower depth.
 */
class Window {
  private edge: SortValue;
  private exclusive: boolean;
  private width: number;
  private unbounded = false;
  private far: SortValue = null;
  private hints: KeyHints;
  private dir: 1 | -1;

  constructor(hints: KeyHints, dir: 1 | -1, after: SortValue) {
    this.hints = hints;
    this.dir = dir;
    this.edge = after;
    this.exclusive = after !== null;
    this.width = hints.width;
  }

  whole() {
    this.unbounded = true;
  }

  restartAfter(value: SortValue) {
    this.edge = value;
    this.exclusive = true;
    this.unbounded = false;
  }

  canNarrow(): boolean {
    return this.unbounded || this.width > (this.hints.kind === 'string' ? 0 : 1);
  }

  narrow() {
    if (this.unbounded) this.unbounded = false;
    else if (this.hints.kind === 'string') this.width = Math.max(0, this.width - 3);
    else this.width = Math.max(1, Math.floor(Math.min(this.width, this.span()) / 8));
  }

  isLast(): boolean {
    return this.unbounded;
  }

  advance(rowsRead: number) {
    this.edge = this.far;
    this.exclusive = false;
    const s = this.hints.kind === 'string';
    if (rowsRead === 0) this.width = s ? this.width + 2 : this.width * 16;
    else if (rowsRead < WINDOW_ROWS / 2) this.width = s ? this.width + 1 : this.width * 2;
  }

  bounds(): Record<string, unknown> {
    const [nearOp, farOp] = this.dir === 1 ? [this.exclusive ? '$gt' : '$gte', '$lt'] : [this.exclusive ? '$lt' : '$lte', '$gt'];
    if (this.edge === null && this.dir === -1 && this.hints.kind !== 'string' && !this.unbounded) {
      // from the top: everything above the key's usual maximum first
      this.far = this.hints.kind === 'date' ? new Date(Date.now() + 86_400_000) : this.hints.top;
      return { [farOp]: this.far };
    }
    this.far = this.unbounded ? null : this.farEnd();
    if (this.far === null) this.unbounded = true;
    const range: Record<string, unknown> = this.edge === null ? { $gte: MIN[this.hints.kind] } : { [nearOp]: this.edge };
    if (this.far !== null) range[farOp] = this.far;
    return range;
  }

  private span(): number {
    const n = (v: SortValue) => (v instanceof Date ? v.getTime() : Number(v));
    return this.far === null || this.edge === null ? this.width : Math.abs(n(this.far) - n(this.edge));
  }

  /** The window's far end, exclusive; null when the window runs to the end. */
  private farEnd(): SortValue {
    if (this.hints.kind === 'string') return stringFar(this.edge as string | null, this.dir, this.width);
    if (this.width >= 2 ** 48) return null;
    if (this.edge === null) return 0; // ascending numbers: the negatives (rare) first, then upward from 0
    const edge = this.edge instanceof Date ? this.edge.getTime() : Number(this.edge);
    let far = edge + this.dir * this.width;
    if (this.dir === -1 && this.hints.kind === 'number') {
      if (edge <= 0) return null;
      far = edge > 16 ? Math.max(far, edge / 4) : far;
      if (far <= 0) return null;
    }
    return this.hints.kind === 'date' ? new Date(far) : far;
  }
}

/** How a key's values spread: the first window's width, and (numbers) the usual maximum. */
export interface KeyHints {
  kind: KeyKind;
  width: number;
  top: number;
}
const MIN: Record<KeyKind, SortValue> = { string: '', number: -Number.MAX_VALUE, date: new Date(-8.64e15) };


/** code-point depth and increment of each string width step: deep and small first */
const STRING_STEPS: [number, number][] = [];
for (let depth = 8; depth >= 1; depth--) for (const inc of [1, 4, 32]) STRING_STEPS.push([depth, inc]);

function stringFar(edge: string | null, dir: 1 | -1, width: number): string | null {
  const step = STRING_STEPS[width];
  if (!step) return null;
  const cps = [...(edge ?? '')].map((c) => c.codePointAt(0)!);
  const [depth, inc] = step;
  if (dir === 1) {
    const prefix = cps.slice(0, depth);
    while (prefix.length < depth) prefix.push(0);
    let last = prefix[depth - 1]! + inc;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    if (last > 0x10ffff) return depth > 1 ? stringFar(edge, dir, STRING_STEPS.findIndex(([d]) => d === depth - 1)) : null;
    prefix[depth - 1] = last;
    return String.fromCodePoint(...prefix);
  }
  if (!cps.length) return null;
  const d = Math.min(depth, cps.length);
  const prefix = cps.slice(0, d);
  const last = prefix[d - 1]! - inc;
  if (last < 0) return d > 1 ? String.fromCodePoint(...prefix.slice(0, d - 1)) : null;
  prefix[d - 1] = last >= 0xd800 && last <= 0xdfff ? 0xd7ff : last;
  return String.fromCodePoint(...prefix);
}

