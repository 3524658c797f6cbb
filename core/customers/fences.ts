// Cut points of a customer list's index order, about FENCE_STEP rows apart, so the list walk
// (walk.ts) can read bounded windows instead of "everything after here". Why: the embedded
// engine materialises a query's whole match before its limit (README, engine notes), so a
// first page over 94,000 active customers cost ~0.7 s and every further read of a filtered
// walk as much again. Fences are a cache and an estimate: stale or rough ones change what a
// read costs, never what the walk returns (the windows always cover the whole key space).
//
// They come from a sample, not a sorted read of the book: about SAMPLE_SIZE display ids
// picked at random (one `$in` read through the unique index) give every status's and every
// sort key's cuts at once. Kept per process, refreshed in the background once older
// than FENCES_TTL_MS.
import type { Types } from 'mongoose';
import { LRUCache } from 'lru-cache';
import { Customer } from '../models/customer.ts';
import { highestDisplayId } from './customers.ts';
import { compareValues, keyOf, type SortValue } from './sort-value.ts';

/** rows between two cuts, roughly */
export const FENCE_STEP = 200;
/** customers sampled per workspace at most */
const SAMPLE_SIZE = 2_000;
const FENCES_TTL_MS = 10 * 60_000;
/** cuts kept in all (a list of 100,000 rows has ~500; ~40 bytes each) */
const REMEMBERED_CUTS = 250_000;

/** A cut: a key value the list is cut at; `samples` > 1 when ~samples × FENCE_STEP rows tie on it. */
export interface Cut {
  v: SortValue;
  samples: number;
}
export interface Fences {
  /** ascending, distinct values (null first when the key can be missing) */
  cuts: Cut[];
  /** the highest display_id in the workspace when the sample was taken (sizes tie windows) */
  maxDisplayId: number;
}
export const NO_FENCES: Fences = { cuts: [], maxDisplayId: 0 };

/** Fences of one workspace, by `${status} ${path}` */
type WorkspaceFences = Map<string, Fences>;

const cache = new LRUCache<string, WorkspaceFences, { workspaceId: Types.ObjectId; paths: string[] }>({
  maxSize: REMEMBERED_CUTS,
  sizeCalculation: (w) => 1 + [...w.values()].reduce((n, f) => n + f.cuts.length, 0),
  ttl: FENCES_TTL_MS,
  allowStale: true, // a stale answer is served while the fresh one is taken
  fetchMethod: (_key, _stale, { context }) => takeFences(context.workspaceId, context.paths),
});

/** The fences of one list: the workspace's customers of `status` in the order of `path` (one of `paths`, the keys the lists sort by). */
export async function fencesFor(workspaceId: Types.ObjectId, status: string, path: string, paths: string[]): Promise<Fences> {
  const all = await cache.fetch(`${String(workspaceId)} ${paths.join(',')}`, { context: { workspaceId, paths } });
  return all?.get(`${status} ${path}`) ?? NO_FENCES;
}

/** Samples display ids and cuts each status's rows in each key's order every `step` rows (estimated). */
export async function takeFences(workspaceId: Types.ObjectId, paths: string[], step = FENCE_STEP): Promise<WorkspaceFences> {
  const highest = await highestDisplayId(workspaceId);
  const ids = sampleIds(highest);
  const stride = highest / Math.max(1, ids.length);
  const projection = Object.fromEntries(['status', 'display_id', ...paths].map((p) => [p, 1]));
  const sample = ids.length ? await Customer.find({ workspace_id: workspaceId, display_id: { $in: ids } }, projection).lean<any[]>() : [];
  const out: WorkspaceFences = new Map();
  for (const status of new Set(sample.map((r) => r.status as string))) {
    const rows = sample.filter((r) => r.status === status);
    for (const path of paths) out.set(`${status} ${path}`, { cuts: cutsOf(rows, path, Math.max(1, Math.round(step / stride))), maxDisplayId: highest });
  }
  return out;
}

/**
 * About SAMPLE_SIZE display ids spread over 1..highest at random gaps (every id when there are
 * fewer): a fixed stride would alias with any periodic pattern in how ids were handed out.
 */
function sampleIds(highest: number): number[] {
  const stride = highest / SAMPLE_SIZE;
  if (stride <= 1) return Array.from({ length: highest }, (_, i) => i + 1);
  const ids: number[] = [];
  for (let id = 1 + Math.floor(Math.random() * stride); id <= highest; id += 1 + Math.floor(Math.random() * (2 * stride - 1))) ids.push(id);
  return ids;
}

/** Every `every`-th sampled value in index order, ties counted. */
function cutsOf(rows: any[], path: string, every: number): Cut[] {
  const values = rows.map((r) => ({ v: keyOf(r, path), d: r.display_id as number })).sort((a, b) => compareValues(a.v, b.v) || a.d - b.d);
  const cuts: Cut[] = [];
  for (let i = every - 1; i < values.length; i += every) {
    const v = values[i]!.v;
    const last = cuts[cuts.length - 1];
    if (last && compareValues(last.v, v) === 0) last.samples++;
    else cuts.push({ v, samples: 1 });
  }
  return cuts;
}
