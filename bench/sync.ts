// Sync benchmark. Three parts, each in its own throwaway local database:
//  1. A full HubSpot sync of 50,000 companies + 100,000 contacts (× BENCH_SCALE) from the
//     fake with no rate limit: records/s and the sync's peak RSS. The fake runs in a child
//     process (bench/_hubspot_proc.ts) so its in-memory book does not count in the RSS.
//  2. The ratio against a raw baseline that bulk-upserts the same customer and contact
//     documents straight through the driver (bulkWrite updateOne upsert keyed by the
//     source's external id, with a unique index on it, batches of 1000) into empty
//     collections, in the same run and at the same scale (BENCH_RAW_SCALE, default BENCH_SCALE).
// BENCH_SYNC_PARTS=full,raw,limited picks parts (default all).
//  3. A full sync of 10,000 companies + BENCH_RL_CONTACTS contacts (default 20,000; × BENCH_SCALE)
//     with the fake limited to 100 requests / 10 s: time against the floor the limit sets.
//     (10,000 companies alone are 100 list requests, which fit in one window: the limit
//     would not bind, so contacts are added to make it bind.)
import { startFakeProcess } from './_fake_proc.ts';
import { performance } from 'node:perf_hooks';
import mongoose, { Types } from 'mongoose';
import { withBenchDatabase, rssSampler } from './_db.ts';
import type { FakeSpec } from './_hubspot_proc.ts';
import { resetEnvCache } from '../core/env.ts';
import { createWorkspace, upsertMember } from '../core/workspaces/workspaces.ts';
import { derivedSearchFields } from '../core/customers/customers.ts';
import { connectSource } from '../core/sync/connections.ts';
import { runSync } from '../core/sync/engine.ts';

interface FakeProc {
  url: string;
  stats(): Promise<{ ok: number; throttled: number; first: number; last: number }>;
  close(): Promise<void>;
}

async function startFakeProc(spec: FakeSpec): Promise<FakeProc> {
  const p = await startFakeProcess<{ url: string }, { ok: number; throttled: number; first: number; last: number }>(new URL('./_hubspot_proc.ts', import.meta.url), 'HubSpot', spec);
  return { url: p.ready.url, stats: p.stats, close: p.close };
}

const secs = (ms: number) => Number((ms / 1000).toFixed(1));

/** One full sync of `companies` + `contacts` from a fresh fake into a fresh workspace. */
async function engineRun(label: string, companies: number, contacts: number, options: FakeSpec['options'] = { searchRateLimitPerSec: Infinity }) {
  const fake = await startFakeProc({ options, token: `bench-${label}`, companies, contacts, label });
  try {
    process.env.HUBSPOT_API_BASE_URL = fake.url;
    resetEnvCache();
    const ws = await createWorkspace({ name: `bench ${label}` });
    await upsertMember(ws._id, { email: 'owner@bench.example', role: 'owner' });
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'hubspot', authType: 'token', credentials: { accessToken: `bench-${label}` } });
    global.gc?.();
    const rssBefore = process.memoryUsage.rss();
    const rss = rssSampler();
    // BENCH_DEBUG: heap figures every 5 s; under --expose-gc it collects first (retained
    // heap), which also lowers the peak RSS, so do not take RSS figures from such a run.
    const debug = process.env.BENCH_DEBUG
      ? setInterval(() => {
          (globalThis as { gc?: () => void }).gc?.();
          const m = process.memoryUsage();
          console.error(`rss ${Math.round(m.rss / 1048576)} heapUsed ${Math.round(m.heapUsed / 1048576)} heapTotal ${Math.round(m.heapTotal / 1048576)} external ${Math.round(m.external / 1048576)} arrayBuffers ${Math.round(m.arrayBuffers / 1048576)}`);
        }, 5000)
      : null;
    const t0 = performance.now();
    const run = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'bench' });
    const ms = performance.now() - t0;
    const peak = rss.stop();
    if (debug) clearInterval(debug);
    if (run.status !== 'succeeded' || run.counts.created !== companies + contacts) {
      throw new Error(`engine run ${label} ended ${run.status} with counts ${JSON.stringify(run.counts)} (${run.message ?? ''})`);
    }
    return { ms, peakRssMb: peak, rssBeforeMb: Math.round(rssBefore / 104857.6) / 10, stats: await fake.stats() };
  } finally {
    await fake.close();
  }
}

/** The raw baseline: the same documents, bulk-upserted by external id, batches of 1000. */
export async function rawRun(companies: number, contacts: number, maxMs: number): Promise<{ ms: number; written: number }> {
  const db = mongoose.connection.db!;
  const cust = db.collection('bench_raw_customers');
  const cont = db.collection('bench_raw_contacts');
  const workspace_id = new Types.ObjectId();
  const connection_id = new Types.ObjectId();
  const now = new Date();
  const customerIds: Types.ObjectId[] = [];
  const customer = (i: number) => {
    const name = `Company ${i}`;
    const domain = `c${i}.raw.example`;
    return {
      external_id: `company:${i}`, workspace_id, display_id: i + 1, name, ...derivedSearchFields(name, domain), domain, owner_email: 'owner@bench.example', owner_member_id: null,
      plan: i % 7 === 0 ? 'tier_1' : 'tier_2', arr: null, industry: null, employee_count: null, last_activity_at: null, status: 'active', source_created_at: now,
      custom_fields: {}, tags: [], sources: [{ connection_id, provider: 'hubspot', object_type: 'company', external_id: String(i), url: null }], last_synced_at: now, createdAt: now, updatedAt: now,
    };
  };
  const contact = (i: number) => ({
    external_id: `contact:${i}`, workspace_id, customer_id: customerIds[i % companies], name: `P${i} L${i}`, email: `p${i}@c${i % companies}.raw.example`, title: null, phone: null,
    is_primary: i < companies, archived_at: null, createdAt: now, updatedAt: now,
  });
  for (let i = 0; i < companies; i++) customerIds.push(new Types.ObjectId());
  await cust.createIndex({ external_id: 1 }, { unique: true });
  await cont.createIndex({ external_id: 1 }, { unique: true });
  const t0 = performance.now();
  let written = 0;
  const late = () => performance.now() - t0 > maxMs;
  for (let i = 0; i < companies && !late(); i += 1000) {
    const ops = [];
    for (let j = i; j < Math.min(i + 1000, companies); j++) {
      const { external_id, ...doc } = customer(j);
      ops.push({ updateOne: { filter: { external_id }, update: { $set: doc }, upsert: true } });
    }
    await cust.bulkWrite(ops, { ordered: false });
    written += ops.length;
  }
  for (let i = 0; i < contacts && !late(); i += 1000) {
    const ops = [];
    for (let j = i; j < Math.min(i + 1000, contacts); j++) {
      const { external_id, ...doc } = contact(j);
      ops.push({ updateOne: { filter: { external_id }, update: { $set: doc }, upsert: true } });
    }
    await cont.bulkWrite(ops, { ordered: false });
    written += ops.length;
  }
  const ms = performance.now() - t0;
  if ((await cust.countDocuments()) + (await cont.countDocuments()) !== written) throw new Error('raw baseline lost documents');
  await cust.drop().catch(() => {});
  await cont.drop().catch(() => {});
  return { ms, written };
}

export async function runSyncBench(): Promise<{ name: string; rows: Record<string, number | string>[]; notes: string[] }> {
  const scale = Number(process.env.BENCH_SCALE ?? 1) || 1;
  const rawScale = Number(process.env.BENCH_RAW_SCALE ?? scale) || scale;
  const rawMaxMs = Number(process.env.BENCH_RAW_MAX_S ?? 600) * 1000;
  const parts = (process.env.BENCH_SYNC_PARTS ?? 'full,raw,limited').split(',');
  const rows: Record<string, number | string>[] = [];
  const notes: string[] = [`BENCH_SCALE=${scale}, BENCH_RAW_SCALE=${rawScale}`];
  const nCompanies = Math.round(50_000 * scale);
  const nContacts = Math.round(100_000 * scale);

  // 1. Full scale, no rate limit.
  const records = nCompanies + nContacts;
  const full = parts.includes('full') ? await withBenchDatabase(() => engineRun('full', nCompanies, nContacts)) : null;
  if (full) rows.push({
    case: `engine: full sync ${nCompanies} companies + ${nContacts} contacts`,
    seconds: secs(full.ms),
    records_per_s: Math.round(records / (full.ms / 1000)),
    peak_rss_mb: full.peakRssMb,
    rss_before_mb: full.rssBeforeMb,
    requests: full.stats.ok,
  });
  notes.push(`peak RSS is this process during the sync (the fake runs in a child process); target < 400 MB`);

  // 2. Raw baseline and the engine at the same (smaller) scale, each into empty collections.
  const rc = Math.round(50_000 * rawScale);
  const rn = Math.round(100_000 * rawScale);
  if (parts.includes('raw')) {
    const pair = await withBenchDatabase(async () => {
      const engine = rawScale === scale && full ? full : await engineRun('pair', rc, rn);
      const raw = await rawRun(rc, rn, rawMaxMs);
      return { engine, raw };
    });
    const rawRps = pair.raw.written / (pair.raw.ms / 1000);
    const engRps = (rc + rn) / (pair.engine.ms / 1000);
    const partial = pair.raw.written < rc + rn ? ` (stopped after ${pair.raw.written} in ${secs(rawMaxMs)} s)` : '';
    rows.push({ case: `raw driver bulk upserts ${rc} + ${rn} documents${partial}`, seconds: secs(pair.raw.ms), records_per_s: Number(rawRps.toFixed(1)) });
    rows.push({ case: `engine: full sync ${rc} companies + ${rn} contacts`, seconds: secs(pair.engine.ms), records_per_s: Math.round(engRps), peak_rss_mb: pair.engine.peakRssMb, ratio_vs_raw: Number((engRps / rawRps).toFixed(2)) });
    notes.push(`ratio_vs_raw = engine records/s ÷ raw records/s at ${rc + rn} records (target ≥ 0.5)`);
  }

  // 3. Rate-limited: 100 requests / 10 s.
  const rlCompanies = Math.round(10_000 * scale);
  const rlContacts = Math.round(Number(process.env.BENCH_RL_CONTACTS ?? 20_000) * scale);
  if (!parts.includes('limited')) return { name: 'sync', rows, notes };
  const limited = await withBenchDatabase(() => engineRun('limited', rlCompanies, rlContacts, { rateLimit: { requests: 100, windowMs: 10_000 } }));
  const n = limited.stats.ok;
  const sustainedFloor = (n / 100) * 10_000;
  const burstFloor = Math.floor(Math.max(n - 1, 0) / 100) * 10_000;
  rows.push({
    case: `rate-limited full sync ${rlCompanies} companies + ${rlContacts} contacts (100 req / 10 s)`,
    seconds: secs(limited.ms),
    requests: n,
    throttled_429: limited.stats.throttled,
    floor_seconds: secs(sustainedFloor),
    ratio_vs_floor: sustainedFloor ? Number((limited.ms / sustainedFloor).toFixed(2)) : 'n/a',
    burst_floor_seconds: secs(burstFloor),
    ratio_vs_burst_floor: burstFloor ? Number((limited.ms / burstFloor).toFixed(2)) : 'n/a',
  });
  notes.push(`rate-limited floor = requests / 100 × 10 s (target ≤ 1.15×); burst floor = ⌊(requests−1)/100⌋ × 10 s, the least a rolling window allows if each window's requests could go out at once`);
  return { name: 'sync', rows, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runSyncBench();
  console.table(r.rows);
  for (const n of r.notes) console.log(n);
  process.exit(0);
}
