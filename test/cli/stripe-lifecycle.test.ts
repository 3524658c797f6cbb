// Issue 14 with Stripe, from the operator's side (subprocesses against the Stripe fake):
// a customer deleted in Stripe is archived when Stripe is the source, three concurrent
// "split" decisions on one ambiguous domain settle it exactly once, and `sync … --wait`
// finishes when a run of the same kind was already open and a worker is running.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { SyncRun } from '../../core/models/sync.ts';
import { workersAlive } from '../../core/jobs/heartbeat.ts';
import { repoRoot } from '../../core/paths.ts';

const db = useTestDatabase('stripe_lifecycle');
let fake: FakeStripe;
let env: Record<string, string>;
let worker: ChildProcess | undefined;
const cli = (args: string[]) => runCli(args, env);
const ids: Record<string, string> = {};
let plgWorkspace = '';
let plgConnection = '';

beforeAll(async () => {
  fake = await startFakeStripe();
  const b = fake.book();
  const product = b.insertProduct({ name: 'Pro' }).id as string;
  const price = (amount: number) => b.insertPrice({ product, unit_amount: amount, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
  for (const [key, email, amount] of [['ada', 'ada@analytical.io', 4900], ['bob', 'bob@builder.dev', 9900], ['d1', 'a@dup.com', 1000], ['d2', 'b@dup.com', 2000], ['d3', 'c@dup.com', 3000]] as const) {
    ids[key] = b.insertCustomer({ email, name: key.toUpperCase() }).id as string;
    b.insertSubscription({ customer: ids[key], items: [{ price: price(amount) }] } as any);
  }
  env = { MONGODB_URI: db.uri, STRIPE_API_BASE_URL: fake.url };
  plgWorkspace = (await cli(['workspace', 'create', '--name', 'PLG'])).stdout.trim();
});

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await fake?.close();
});

describe('Stripe as the source: deletion (item 14)', () => {
  it('archives a customer deleted in Stripe on the next complete sync', async () => {
    const r = await cli(['connect', 'stripe', '--workspace', plgWorkspace, '--token', fake.secretKey, '--json']);
    expect(r.code).toBe(0);
    plgConnection = r.json().connection_id;
    expect((await cli(['sync', 'full', '--connection', plgConnection, '--wait', '--json'])).json()).toMatchObject({ status: 'succeeded' });
    expect((await cli(['customers', 'list', '--workspace', plgWorkspace, '--json'])).json()).toHaveLength(5);

    fake.deleteCustomer(ids.bob!);
    const reconcile = await cli(['sync', 'reconcile', '--connection', plgConnection, '--wait', '--json']);
    expect(reconcile.json()).toMatchObject({ status: 'succeeded', counts: { archived: 1 } });
    const archived = (await cli(['customers', 'list', '--workspace', plgWorkspace, '--status', 'archived', '--json'])).json();
    expect(archived.map((c: any) => c.name)).toEqual(['BOB']);
    expect((await cli(['customers', 'list', '--workspace', plgWorkspace, '--json'])).json()).toHaveLength(4);
  });
});

describe('sync --wait with a run already open (item 12)', () => {
  it('follows the open run the worker continues instead of waiting forever', async () => {
    // What a `sync full --wait` killed mid-run leaves behind: an open run of that kind.
    const conn = new Types.ObjectId(plgConnection);
    const open = await SyncRun.create({ workspace_id: new Types.ObjectId(plgWorkspace), connection_id: conn, kind: 'full', trigger: 'cli', status: 'running', started_at: new Date(Date.now() - 60_000) });
    await SyncRun.updateOne({ _id: open._id }, { $set: { createdAt: new Date(Date.now() - 60_000) } }, { timestamps: false });
    worker = spawn(process.execPath, [path.join(repoRoot, 'scripts/start.ts')], { env: { ...process.env, ...env, PIVOTAL_ROLES: 'worker', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const deadline = Date.now() + 30_000;
    while ((await workersAlive()) === 0) {
      if (Date.now() > deadline) throw new Error('worker did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await cli(['sync', 'full', '--connection', plgConnection, '--wait', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ id: String(open._id), status: 'succeeded' });
    worker.kill('SIGTERM');
  }, 90_000);
});

describe('ambiguous matches settle once (item 3)', () => {
  it('three concurrent splits: one wins, the others are told, one customer per payer', async () => {
    const ws = (await cli(['workspace', 'create', '--name', 'Billing'])).stdout.trim();
    await createCustomers(new Types.ObjectId(ws), [{ name: 'Dup', domain: 'dup.com' }]);
    const conn = (await cli(['connect', 'stripe', '--workspace', ws, '--token', fake.secretKey, '--billing-signal-only', '--json'])).json().connection_id;
    expect((await cli(['sync', 'full', '--connection', conn, '--wait', '--json'])).json()).toMatchObject({ status: 'succeeded' });
    const [match] = (await cli(['billing', 'ambiguous', '--connection', conn, '--json'])).json();
    expect(match.candidates).toHaveLength(3);

    const results = await Promise.all([1, 2, 3].map(() => cli(['billing', 'resolve', '--match', match.id, '--split', '--json'])));
    expect(results.map((r) => r.code).sort()).toEqual([0, 2, 2]);
    for (const r of results.filter((x) => x.code === 2)) expect(r.stderr.trim()).toBe('error: dup.com was already settled');
    expect(await Customer.countDocuments({ workspace_id: new Types.ObjectId(ws), domain: 'dup.com' })).toBe(3);
    const settled = (await cli(['billing', 'ambiguous', '--connection', conn, '--status', 'all', '--json'])).json();
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({ status: 'resolved', resolution: { split: true } });
    expect(Object.keys(settled[0].resolution.assignments)).toHaveLength(3);
  }, 90_000);
});
