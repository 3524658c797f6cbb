// Salesforce benchmark (issue 15), `npm run bench -- salesforce`:
//  1. Full syncs of 20,000 Accounts + 60,000 Contacts (× BENCH_SCALE) from the fake with no
//     added latency, once forced onto the REST path and once onto the Bulk API 2.0 path:
//     records/s, API calls, the sync's peak RSS. The fake runs in a child process.
//  2. The raw driver baseline of bench/sync.ts (bulk upserts of the same number of customer
//     and contact documents keyed by an indexed external id) in the same run: ratio = engine ÷ raw.
//  3. The REST/Bulk crossover: the connector alone walking N Accounts (no database work,
//     which is the same per record on both paths) against the fake with a round-trip
//     latency and a Bulk job time modelled on a real org (BENCH_SF_LATENCY_MS, default 150;
//     job 3 s + 100,000 rows/s): where the Bulk path starts to win.
import { startFakeProcess } from './_fake_proc.ts';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { withBenchDatabase, rssSampler } from './_db.ts';
import { rawRun } from './sync.ts';
import type { SalesforceFakeSpec, SalesforceFakeStats } from './_salesforce_proc.ts';
import { createWorkspace, upsertMember } from '../core/workspaces/workspaces.ts';
import { connectSource } from '../core/sync/connections.ts';
import { runSync } from '../core/sync/engine.ts';
import { salesforce } from '../core/connectors/salesforce/index.ts';
import type { ConnectorContext, Credentials } from '../core/connectors/connector.ts';

interface FakeProc {
  url: string;
  accessToken: string;
  stats(): Promise<SalesforceFakeStats>;
  close(): Promise<void>;
}

async function startFakeProc(spec: SalesforceFakeSpec): Promise<FakeProc> {
  const p = await startFakeProcess<{ url: string; accessToken: string }, SalesforceFakeStats>(new URL('./_salesforce_proc.ts', import.meta.url), 'Salesforce', spec);
  return { ...p.ready, stats: p.stats, close: p.close };
}

const secs = (ms: number) => Number((ms / 1000).toFixed(1));
/** bulk_threshold values that force one path. */
const PATH_THRESHOLD = { rest: Number.MAX_SAFE_INTEGER, bulk: 1 } as const;

async function engineRun(path: 'rest' | 'bulk', accounts: number, contactsPerAccount: number) {
  const fake = await startFakeProc({ options: { bulkPageSize: 10_000 }, accounts, contactsPerAccount });
  try {
    const ws = await createWorkspace({ name: `bench salesforce ${path}` });
    await upsertMember(ws._id, { email: 'owner@bench.example', role: 'owner' });
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'salesforce', authType: 'token', credentials: { accessToken: fake.accessToken, instanceUrl: fake.url }, settings: { bulk_threshold: PATH_THRESHOLD[path] } });
    global.gc?.();
    const rss = rssSampler();
    const t0 = performance.now();
    const run = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'bench' });
    const ms = performance.now() - t0;
    const peak = rss.stop();
    const expected = accounts * (1 + contactsPerAccount);
    if (run.status !== 'succeeded' || run.counts.created !== expected) throw new Error(`${path} run ended ${run.status} with counts ${JSON.stringify(run.counts)} (${run.message ?? ''})`);
    return { ms, peakRssMb: peak, stats: await fake.stats(), records: expected };
  } finally {
    await fake.close();
  }
}

function benchContext(url: string, accessToken: string, path: 'rest' | 'bulk'): ConnectorContext {
  let creds: Credentials = { accessToken, instanceUrl: url };
  return {
    connectionId: `bench-${path}-${url}`,
    workspaceId: 'bench',
    settings: { bulk_threshold: PATH_THRESHOLD[path] },
    credentials: () => creds,
    saveCredentials: async (next) => {
      creds = next;
    },
    log: pino({ level: 'silent' }),
  };
}

/** The connector's full walk of N Accounts alone, against a fake with a real org's latency. */
async function connectorWalk(fake: FakeProc, path: 'rest' | 'bulk'): Promise<{ ms: number; calls: number; records: number }> {
  const ctx = benchContext(fake.url, fake.accessToken, path);
  const before = (await fake.stats()).api;
  const t0 = performance.now();
  let cursor: string | null = null;
  let records = 0;
  do {
    const page = await salesforce.pull(ctx, { kind: 'customer', cursor });
    records += page.records.length;
    cursor = page.nextCursor;
  } while (cursor);
  return { ms: performance.now() - t0, calls: (await fake.stats()).api - before, records };
}

export async function runSalesforceBench(): Promise<{ name: string; rows: Record<string, number | string>[]; notes: string[] }> {
  const scale = Number(process.env.BENCH_SCALE ?? 1) || 1;
  const parts = (process.env.BENCH_SF_PARTS ?? 'full,raw,crossover').split(',');
  const accounts = Math.round(20_000 * scale);
  const rows: Record<string, number | string>[] = [];
  const notes: string[] = [`BENCH_SCALE=${scale}`];

  if (parts.includes('full') || parts.includes('raw')) {
    await withBenchDatabase(async () => {
      const rest = await engineRun('rest', accounts, 3);
      const bulk = await engineRun('bulk', accounts, 3);
      const raw = parts.includes('raw') ? await rawRun(accounts, accounts * 3, 600_000) : null;
      const rawRps = raw ? raw.written / (raw.ms / 1000) : null;
      for (const [path, r] of [['REST', rest], ['Bulk API 2.0', bulk]] as const) {
        const rps = r.records / (r.ms / 1000);
        rows.push({
          case: `engine: full sync ${accounts} Accounts + ${accounts * 3} Contacts, ${path}`,
          seconds: secs(r.ms),
          records_per_s: Math.round(rps),
          api_calls: r.stats.api,
          peak_rss_mb: r.peakRssMb,
          ratio_vs_raw: rawRps ? Number((rps / rawRps).toFixed(2)) : 'n/a',
        });
      }
      if (raw) rows.push({ case: `raw driver bulk upserts ${accounts} + ${accounts * 3} documents`, seconds: secs(raw.ms), records_per_s: Math.round(rawRps!) });
    });
    notes.push('ratio_vs_raw = engine records/s ÷ raw driver records/s in the same run (target ≥ 0.5); peak RSS is this process during the sync (the fake runs in a child process)');
  }

  if (parts.includes('crossover')) {
    const latencyMs = Number(process.env.BENCH_SF_LATENCY_MS ?? 150);
    const sizes = (process.env.BENCH_SF_CROSSOVER ?? '2000,5000,10000,20000,50000').split(',').map(Number);
    for (const n of sizes) {
      const fake = await startFakeProc({ options: { latencyMs, bulkJobBaseMs: 3000, bulkJobRowsPerSec: 100_000, bulkPageSize: 10_000 }, accounts: n, contactsPerAccount: 0 });
      try {
        const rest = await connectorWalk(fake, 'rest');
        const bulk = await connectorWalk(fake, 'bulk');
        if (rest.records !== n || bulk.records !== n) throw new Error(`walk of ${n} returned ${rest.records} (REST) and ${bulk.records} (Bulk)`);
        rows.push({ case: `crossover: connector walk of ${n} Accounts`, rest_s: secs(rest.ms), rest_calls: rest.calls, bulk_s: secs(bulk.ms), bulk_calls: bulk.calls, faster: rest.ms <= bulk.ms ? 'REST' : 'Bulk' });
      } finally {
        await fake.close();
      }
    }
    notes.push(`crossover model: ${latencyMs} ms per API round trip, a Bulk query job ready 3 s + rows ÷ 100,000/s after it is opened (jsforce polls every 1 s); REST pages 2,000 rows, Bulk pages 10,000`);
  }
  return { name: 'salesforce', rows, notes };
}
