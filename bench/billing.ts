// Billing-signal sync at scale: 20,000 Stripe customers with 30,000 subscriptions (× BENCH_SCALE)
// served by the fake Stripe through the real SDK, matched onto 16,000 Pivotal customers.
// The baseline is the least database work with the same outcome, done with the raw driver:
// one read of the workspace's customers and one bulkWrite of `$set: {billing}` per 1,000
// (the store's write, core/billing/store.ts). The ratio shows the runner's overhead: Stripe
// reads over HTTP, billing maths, ambiguity checks and run bookkeeping.
import { performance } from 'node:perf_hooks';
import mongoose, { Types } from 'mongoose';
import { withBenchDatabase, rssSampler } from './_db.ts';
import { startFakeStripe } from '../test/fakes/stripe.ts';
import { resetEnvCache } from '../core/env.ts';
import { createWorkspace } from '../core/workspaces/workspaces.ts';
import { connectSource } from '../core/sync/connections.ts';
import { Connection } from '../core/models/connection.ts';
import { runSync } from '../core/sync/engine.ts';

export async function runBillingBench(): Promise<{ name: string; rows: Record<string, number | string>[]; notes: string[] }> {
  const scale = Number(process.env.BENCH_SCALE ?? 1) || 1;
  const nCustomers = Math.round(20_000 * scale);
  const nSubs = Math.round(30_000 * scale);
  const fake = await startFakeStripe();
  process.env.STRIPE_API_BASE_URL = fake.url;
  resetEnvCache();
  try {
    return await withBenchDatabase(async () => {
      const book = fake.book();
      const seeded = book.seedBook({ customers: nCustomers, subscriptions: nSubs, invoicesPerSubscription: 1, seed: 7 });
      // One company domain per Stripe customer (the seeder's 97 shared domains would make everything ambiguous).
      seeded.customerIds.forEach((id, i) => (book.get('customer', id)!.email = `billing@c${i}.bench.example`));
      const ws = await createWorkspace({ name: 'Bench billing' });
      // 80 % of the Stripe customers have a Pivotal customer; the rest come out unmatched.
      const matchedCount = Math.floor(nCustomers * 0.8);
      const docs = Array.from({ length: matchedCount }, (_, i) => ({
        _id: new Types.ObjectId(), workspace_id: ws._id, display_id: i + 1, name: `C${i}`, name_lower: `c${i}`, search_grams: [],
        domain: `c${i}.bench.example`, status: 'active', sources: [], tags: [], custom_fields: {},
        createdAt: new Date(), updatedAt: new Date(),
      }));
      const coll = mongoose.connection.db!.collection('customers');
      for (let i = 0; i < docs.length; i += 5000) await coll.insertMany(docs.slice(i, i + 5000), { ordered: false });
      const conn = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', credentials: { accessToken: fake.secretKey }, mode: 'test' });

      const rss = rssSampler();
      const t0 = performance.now();
      const run = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'bench' });
      const syncMs = performance.now() - t0;
      const peak = rss.stop();
      if (run.status !== 'succeeded') throw new Error(`billing run ${run.status}: ${run.message}`);
      // The nightly reconcile's usual case: the same book again, nothing changed.
      const r0 = performance.now();
      const again = await runSync({ connectionId: String(conn._id), kind: 'reconcile', trigger: 'bench' });
      const againMs = performance.now() - r0;
      if (again.status !== 'succeeded' || again.counts.updated !== 0) throw new Error(`reconcile run ${again.status}, ${again.counts.updated} updated`);
      // A mass change: the admin narrows the scope to half the products, so most customers'
      // billing changes (old versions pruned) and those left with nothing in scope lose it.
      await Connection.updateOne({ _id: conn._id }, { $set: { 'settings.scope': { products: seeded.productIds.slice(0, 2), lookup_keys: [] } } });
      const n0 = performance.now();
      const narrowed = await runSync({ connectionId: String(conn._id), kind: 'reconcile', trigger: 'bench' });
      const narrowedMs = performance.now() - n0;
      if (narrowed.status !== 'succeeded') throw new Error(`narrowed reconcile ${narrowed.status}: ${narrowed.message}`);
      const billed = await coll.countDocuments({ workspace_id: ws._id, 'billing.mrr': { $ne: null } });

      // Raw driver baseline: the same reads and billing writes, no Stripe and no maths.
      const b0 = performance.now();
      const found = await coll.find({ workspace_id: ws._id, status: { $ne: 'archived' } }, { projection: { _id: 1, domain: 1 } }).toArray();
      const now = new Date();
      const rows = found.map((d, i) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { billing_baseline: { mrr: i, plan: 'p', payment_status: 'paid', billing_started_at: now, stripe_customer_id: `cus_${i}`, stripe_customer_ids: [`cus_${i}`], synced_at: now } } } } }));
      for (let i = 0; i < rows.length; i += 1000) await coll.bulkWrite(rows.slice(i, i + 1000), { ordered: false });
      const baseMs = performance.now() - b0;

      const records = nCustomers + nSubs;
      return {
        name: 'billing',
        rows: [
          { case: 'billing full sync', stripe_customers: nCustomers, subscriptions: nSubs, ms: Math.round(syncMs), records_per_s: Math.round(records / (syncMs / 1000)), matched: run.counts.matched, unmatched: run.counts.unmatched, updated: run.counts.updated, peak_rss_mb: peak },
          { case: 'reconcile, nothing changed', stripe_customers: nCustomers, subscriptions: nSubs, ms: Math.round(againMs), records_per_s: Math.round(records / (againMs / 1000)), matched: again.counts.matched, unmatched: again.counts.unmatched, updated: again.counts.updated, peak_rss_mb: '' },
          { case: 'reconcile after narrowing the scope (mass change)', stripe_customers: nCustomers, subscriptions: nSubs, ms: Math.round(narrowedMs), records_per_s: Math.round(records / (narrowedMs / 1000)), matched: narrowed.counts.matched, unmatched: narrowed.counts.unmatched, updated: narrowed.counts.updated, peak_rss_mb: '' },
          { case: 'raw driver baseline', stripe_customers: nCustomers, subscriptions: nSubs, ms: Math.round(baseMs), records_per_s: Math.round(records / (baseMs / 1000)), matched: found.length, unmatched: 0, updated: rows.length, peak_rss_mb: '' },
          { case: 'ratio (sync / baseline)', stripe_customers: '', subscriptions: '', ms: Math.round((syncMs / baseMs) * 10) / 10, records_per_s: '', matched: '', unmatched: '', updated: '', peak_rss_mb: '' },
        ],
        notes: [
          'records = Stripe customers + subscriptions; the sync reads them over HTTP from the fake Stripe through the SDK, the baseline does only the database part.',
          'ratio = full sync / baseline; peak_rss_mb is this process, which also holds the fake Stripe and its book.',
          `after the mass change: ${billed} of ${matchedCount} customers still have MRR (the others have no in-scope subscription left).`,
        ],
      };
    });
  } finally {
    await fake.close();
    delete process.env.STRIPE_API_BASE_URL;
    resetEnvCache();
  }
}
