// The portal's customer list and the health recompute at 100,000 customers (× BENCH_SCALE)
// in one workspace among three: the health recompute of the whole book (records/s, peak
// RSS), then signed-in HTTP requests to /customers with search, each filter, sorts and a
// deep page, sequentially (p50 / p99 per kind). The portal runs in this process.
import mongoose, { Types } from 'mongoose';
import { withBenchDatabase, rssSampler } from './_db.ts';
import { createWorkspace } from '../core/workspaces/workspaces.ts';
import { derivedSearchFields } from '../core/customers/customers.ts';
import { noBilling } from '../core/billing/store.ts';
import { MrrSnapshot } from '../core/models/health.ts';
import { Counter } from '../core/models/counter.ts';
import { recomputeWorkspaceHealth } from '../core/health/recompute.ts';
import { inviteMember } from '../core/auth/login.ts';
import { startPortal } from '../portal/server.ts';
import { freePort } from '../core/db/local-database.ts';
import { resetEnvCache } from '../core/env.ts';

const WORDS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne', 'soylent', 'vandelay', 'pied', 'piper', 'aperture', 'oscorp', 'dunder', 'mifflin', 'gringotts', 'monarch'];
const nameFor = (i: number) => `${WORDS[i % 20]![0]!.toUpperCase()}${WORDS[i % 20]!.slice(1)} ${WORDS[Math.floor(i / 20) % 20]} Labs ${i}`;
const pct = (sorted: number[], p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
const DAY = 86_400_000;
/** a well-mixed integer of (i, salt): who owns a customer and its plan do not follow from its name */
const mix = (i: number, salt: number) => {
  let h = Math.imul(i ^ (salt * 0x9e3779b9), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

export async function seed(workspaceId: Types.ObjectId, n: number, owners: string[]): Promise<void> {
  const coll = mongoose.connection.db!.collection('customers');
  const now = Date.now();
  for (let i = 0; i < n; i += 10_000) {
    const docs = [];
    const snaps = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      const name = nameFor(j);
      const domain = `c${j}.example`;
      const _id = new Types.ObjectId();
      const mrr = j % 9 === 0 ? null : 5_000 + (j % 60) * 1_500;
      docs.push({
        _id, workspace_id: workspaceId, display_id: j + 1, name, domain, ...derivedSearchFields(name, domain),
        status: j % 31 === 0 ? 'churned' : j % 13 === 0 ? 'at_risk' : 'active', owner_email: owners[mix(j, 1) % owners.length], plan: ['Starter', 'Growth', 'Scale'][mix(j, 2) % 3],
        last_activity_at: j % 4 === 0 ? null : new Date(now - (j % 120) * DAY), source_created_at: new Date(now - (j % 1000) * DAY),
        health: { score: null, bucket: null, breakdown: [], computed_at: null }, sources: [], tags: [], custom_fields: {}, createdAt: new Date(), updatedAt: new Date(),
        billing: { ...noBilling(), plan: ['Starter', 'Growth', 'Scale'][mix(j, 2) % 3], mrr, payment_status: mrr == null ? 'none' : j % 23 === 0 ? 'failing' : j % 17 === 0 ? 'past_due' : 'paid', billing_started_at: mrr == null ? null : new Date(now - (j % 900) * DAY) },
      });
      if (mrr != null && j % 2 === 0) snaps.push({ workspace_id: workspaceId, customer_id: _id, day: '2000-01-01', mrr: mrr - 2_000 + (j % 5) * 1_000, at: new Date(now - 80 * DAY) });
    }
    await coll.insertMany(docs, { ordered: false });
    await Counter.updateOne({ _id: `customer_display_id:${String(workspaceId)}` }, { $max: { seq: Math.min(n, i + 10_000) } }, { upsert: true });
    if (snaps.length) await MrrSnapshot.collection.insertMany(snaps, { ordered: false });
  }
}

export async function runCustomersBench(): Promise<{ name: string; rows: Record<string, number | string>[]; notes: string[] }> {
  const scale = Number(process.env.BENCH_SCALE ?? 1) || 1;
  const n = Math.round(100_000 * scale);
  return withBenchDatabase(async () => {
    const owners = ['olivia@bench.example', 'carl@bench.example', 'mia@bench.example', 'raj@bench.example'];
    const target = await createWorkspace({ name: 'Bench customers' });
    for (let w = 0; w < 2; w++) await seed((await createWorkspace({ name: `Other ${w}` }))._id, Math.round(n / 10), owners);
    const seedStart = Date.now();
    await seed(target._id, n, owners);
    const seedSeconds = (Date.now() - seedStart) / 1000;

    const rows: Record<string, number | string>[] = [];
    const rss = rssSampler();
    const t0 = performance.now();
    const summary = await recomputeWorkspaceHealth(target._id);
    const secs = (performance.now() - t0) / 1000;
    const peak = rss.stop();
    rows.push({ measure: `health recompute, ${n.toLocaleString('en-US')} customers`, result: `${Math.round((summary.scored + summary.unscored) / secs)} records/s (${secs.toFixed(1)} s)`, peak_rss_mb: peak });
    const t1 = performance.now();
    await recomputeWorkspaceHealth(target._id); // a second night: every score written again, no events
    const secs2 = (performance.now() - t1) / 1000;
    rows.push({ measure: 'health recompute again (nothing changed)', result: `${Math.round((summary.scored + summary.unscored) / secs2)} records/s (${secs2.toFixed(1)} s)`, peak_rss_mb: '' });

    const port = await freePort();
    process.env.APP_URL = `http://127.0.0.1:${port}`;
    resetEnvCache();
    const portal = await startPortal({ port, host: '127.0.0.1' });
    try {
      const cookieFor = async (email: string, role: 'owner' | 'member') => {
        const { link } = await inviteMember({ workspaceId: String(target._id), email, role });
        // the link's page asks to confirm; the confirmation is a same-origin POST
        const res = await fetch(link, { method: 'POST', redirect: 'manual', headers: { origin: process.env.APP_URL!, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
        return res.headers.get('set-cookie')!.split(';')[0]!;
      };
      const owner = await cookieFor('olivia@bench.example', 'owner');
      const member = await cookieFor('carl@bench.example', 'member');
      const kinds: [string, (k: number) => string, string][] = [
        ['default list (active + at risk, by name)', () => '', owner],
        ['search, exact name', (k) => `q=${encodeURIComponent(nameFor((k * 7919) % n))}`, owner],
        ['search, prefix', (k) => `q=${encodeURIComponent(nameFor((k * 7919) % n).split(' ').slice(0, 2).join(' '))}`, owner],
        ['search, typo', (k) => `q=${encodeURIComponent(nameFor((k * 7919) % n).replace(/[aeiou]/, ''))}`, owner],
        ['filter status at_risk', () => 'status=at_risk', owner],
        ['filter payment failing, by MRR', () => 'payment=failing&sort=-mrr', owner],
        ['filter health at_risk', () => 'bucket=at_risk', owner],
        ['filter plan + owner', () => 'plan=Growth&owner=mia%40bench.example', owner],
        ['sort by health, page 20', () => 'sort=health&page=20', owner],
        ['member (own book), by MRR', () => 'sort=-mrr', member],
      ];
      const perKind = Math.max(20, Math.round(100 * Math.min(1, scale)));
      for (const [label, qs, cookie] of kinds) {
        const times: number[] = [];
        // the first request of a list also takes its fences (core/customers/fences.ts): reported apart
        for (let k = -1; k < perKind; k++) {
          const s = performance.now();
          const res = await fetch(`${process.env.APP_URL}/customers?${qs(Math.max(k, 0))}`, { headers: { cookie } });
          await res.text();
          if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
          times.push(performance.now() - s);
        }
        const first = Math.round(times.shift()!);
        times.sort((a, b) => a - b);
        rows.push({ measure: `GET /customers: ${label}`, result: `p50 ${pct(times, 50)} ms, p99 ${pct(times, 99)} ms (first request ${first} ms)`, peak_rss_mb: '' });
      }
    } finally {
      await portal.stop();
    }
    return {
      name: 'customers',
      rows,
      notes: [
        `${n.toLocaleString('en-US')} customers in the measured workspace (+${Math.round(n / 5).toLocaleString('en-US')} in two others), seeded in ${seedSeconds.toFixed(1)} s; ${summary.scored} scored, ${summary.unscored} without signals; churned ones frozen.`,
        'Requests are sequential, signed in, over loopback HTTP through Remix (the page HTML included).',
      ],
    };
  });
}
