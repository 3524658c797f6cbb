// Batched writeback through the engine's jobs, jsforce and the Salesforce fake: 450 status
// changes become 450 coalesced requests and three sObject collections calls (the fake
// refuses more than 200 records a call), the Accounts carry the latest values, the next
// poll re-imports nothing; a refused record becomes a SyncError without stopping the batch,
// and a used-up API quota leaves every request waiting, then written.
import { afterAll, describe, expect, it } from 'vitest';
import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../fakes/salesforce.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace, upsertMember } from '../../core/workspaces/workspaces.ts';
import { Customer } from '../../core/models/customer.ts';
import { Connection } from '../../core/models/connection.ts';
import { SyncError } from '../../core/models/sync.ts';
import { PendingWriteback } from '../../core/models/writeback.ts';
import { connectSource, reauthorize } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { drainWritebacks, recordWriteback, writebackJobs, SYNC_WRITEBACK_JOB, WRITEBACK_DRAIN_JOB } from '../../core/sync/writeback-queue.ts';
import { setCustomerStatus } from '../../core/customers/status.ts';
import { JOBS_COLLECTION, startJobProcessor, type JobDefinition } from '../../core/jobs/agenda.ts';

useTestDatabase('salesforce_writeback');
const saved = { ...process.env };
let sf: FakeSalesforce;
const fakes: FakeSalesforce[] = [];

afterAll(async () => {
  for (const f of fakes) await f.close();
  process.env = saved;
  resetEnvCache();
});

/** A workspace synced from an org of its own with this many Accounts (and the status field). */
async function syncedWorkspace(name: string, accounts: number) {
  sf = await startFakeSalesforce({ clientId: 'sf-cid', clientSecret: 'sf-secret' });
  fakes.push(sf);
  Object.assign(process.env, { SALESFORCE_CLIENT_ID: 'sf-cid', SALESFORCE_CLIENT_SECRET: 'sf-secret', SALESFORCE_LOGIN_URL: sf.url });
  resetEnvCache();
  sf.addField('Account', { name: 'Pivotal_Status__c', type: 'string' });
  const ws = await createWorkspace({ name });
  await upsertMember(ws._id, { email: 'owner@example.com', role: 'owner' });
  sf.seedAccounts(accounts);
  const t = sf.issueToken();
  const conn = await connectSource({ workspaceId: String(ws._id), provider: 'salesforce', authType: 'oauth', credentials: { accessToken: t.accessToken, refreshToken: t.refreshToken, instanceUrl: sf.url }, settings: {} });
  const connectionId = String(conn._id);
  expect((await runSync({ connectionId, kind: 'full', trigger: 'test' })).status).toBe('succeeded');
  const customers = await Customer.find({ workspace_id: ws._id }).lean();
  return { ws, connectionId, customers };
}

const queued = (name: string) => mongoose.connection.db!.collection(JOBS_COLLECTION).countDocuments({ name, lastFinishedAt: null });
const job = (name: string) => writebackJobs.find((j) => j.name === name) as JobDefinition;

/** Runs the given jobs in a worker until `done` holds. */
async function work(jobs: JobDefinition[], done: () => Promise<boolean>, what: string) {
  // A worker refuses to start beside job names it cannot run: the events and schedules this test does not look at go.
  await mongoose.connection.db!.collection(JOBS_COLLECTION).deleteMany({ name: { $nin: writebackJobs.map((j) => j.name) } });
  const worker = await startJobProcessor({ jobs, name: `wb-${what.replace(/\W+/g, '-')}`, processEveryMs: 100 });
  try {
    await until(done, 180_000, what);
  } finally {
    await worker.stop({ drainMs: 2000 });
  }
}

describe('batched Salesforce writeback', () => {
  it('writes 450 status changes in three collections calls, coalescing repeats, and the next poll re-imports nothing', async () => {
    const { ws, connectionId, customers } = await syncedWorkspace('Batch', 450);
    expect(customers).toHaveLength(450);
    const actor = { type: 'user' as const, id: 'owner@example.com' };
    for (let i = 0; i < customers.length; i += 25) {
      await Promise.all(customers.slice(i, i + 25).map((c) => setCustomerStatus({ customerId: c._id, workspaceId: ws._id, status: 'at_risk', actor })));
    }
    // Five of them change again before anything is written: the latest value wins, one request each.
    const twice = customers.slice(0, 5);
    for (const c of twice) await setCustomerStatus({ customerId: c._id, workspaceId: ws._id, status: 'churned', actor });
    expect(await queued(SYNC_WRITEBACK_JOB)).toBe(455);

    // The requests are recorded first (as a burst of changes would be), then the connection's drain runs.
    await work([job(SYNC_WRITEBACK_JOB)], async () => (await queued(SYNC_WRITEBACK_JOB)) === 0, 'the writeback requests to be recorded');
    expect(await PendingWriteback.countDocuments({ connection_id: new Types.ObjectId(connectionId) })).toBe(450);
    expect(await queued(WRITEBACK_DRAIN_JOB)).toBe(1);
    const composite = sf.stats.composite;
    await work(writebackJobs, async () => (await queued(WRITEBACK_DRAIN_JOB)) === 0 && (await PendingWriteback.countDocuments()) === 0, 'the writeback drain');

    expect(sf.stats.composite - composite).toBe(3);
    const statusOf = (c: (typeof customers)[number]) => sf.record('Account', c.sources[0]!.external_id)!.Pivotal_Status__c;
    expect(customers.slice(5).every((c) => statusOf(c) === 'at_risk')).toBe(true);
    expect(twice.map(statusOf)).toEqual(Array(5).fill('churned'));
    expect(await SyncError.countDocuments({ connection_id: new Types.ObjectId(connectionId) })).toBe(0);

    const poll = await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    expect(poll.status).toBe('succeeded');
    expect(poll.counts).toMatchObject({ created: 0, updated: 0 });
    expect(await Customer.countDocuments({ _id: { $in: twice.map((c) => c._id) }, status: 'churned' })).toBe(5);
    // 455 status changes and as many jobs: ~30 s alone here, longer beside other suites on two cores.
  }, 300_000);

  it('records a refused Account as a SyncError and writes the rest of its batch', async () => {
    const { connectionId, customers } = await syncedWorkspace('Refused', 3);
    const [gone, ...rest] = customers;
    sf.remove('Account', gone!.sources[0]!.external_id);
    for (const c of customers) expect(await recordWriteback(String(c._id), { status: 'churned' })).toMatchObject({ queued: true });
    const composite = sf.stats.composite;
    const r = await drainWritebacks(connectionId);
    expect(sf.stats.composite - composite).toBe(1);
    expect(r).toMatchObject({ written: 2, failed: 1 });
    expect(rest.map((c) => sf.record('Account', c.sources[0]!.external_id)!.Pivotal_Status__c)).toEqual(['churned', 'churned']);
    const err = await SyncError.findOne({ connection_id: new Types.ObjectId(connectionId), record_id: gone!.sources[0]!.external_id }).lean();
    expect(err?.message).toContain('ENTITY_IS_DELETED');
    expect(await PendingWriteback.countDocuments({ connection_id: new Types.ObjectId(connectionId) })).toBe(0);
  });

  it('keeps every request through a used-up API quota and writes them once it has room', async () => {
    const { connectionId, customers } = await syncedWorkspace('Quota', 4);
    for (const c of customers) await recordWriteback(String(c._id), { status: 'at_risk' });
    sf.resetQuota();
    sf.setDailyLimit(0);
    const paused = await drainWritebacks(connectionId);
    expect(paused.written).toBe(0);
    expect(paused.waiting).toMatch(/quota used up until/);
    expect(await PendingWriteback.countDocuments({ connection_id: new Types.ObjectId(connectionId), claim: null })).toBe(4);
    const resume = await mongoose.connection.db!.collection(JOBS_COLLECTION).findOne({ name: WRITEBACK_DRAIN_JOB, 'data.connection_id': connectionId, nextRunAt: { $gt: new Date() } });
    expect(resume).toBeTruthy();

    sf.setDailyLimit(Number.MAX_SAFE_INTEGER);
    await Connection.updateOne({ _id: new Types.ObjectId(connectionId) }, { $set: { paused_until: new Date(Date.now() - 1000) } });
    expect(await drainWritebacks(connectionId)).toMatchObject({ written: 4, failed: 0, waiting: null });
    expect(customers.every((c) => sf.record('Account', c.sources[0]!.external_id)!.Pivotal_Status__c === 'at_risk')).toBe(true);
  });

  it('keeps the requests while the connection needs reauthorizing and writes them once it is reconnected', async () => {
    const { connectionId, customers } = await syncedWorkspace('Revoked', 2);
    for (const c of customers) await recordWriteback(String(c._id), { status: 'churned' });
    await Connection.updateOne({ _id: new Types.ObjectId(connectionId) }, { $set: { state: 'reauthorize', state_reason: 'test' } });
    expect((await drainWritebacks(connectionId)).waiting).toMatch(/Reauthorize salesforce/);
    expect(await PendingWriteback.countDocuments({ connection_id: new Types.ObjectId(connectionId) })).toBe(2);
    await mongoose.connection.db!.collection(JOBS_COLLECTION).deleteMany({ name: WRITEBACK_DRAIN_JOB });
    const t = sf.issueToken();
    await reauthorize(connectionId, { accessToken: t.accessToken, refreshToken: t.refreshToken, instanceUrl: sf.url });
    expect(await mongoose.connection.db!.collection(JOBS_COLLECTION).countDocuments({ name: WRITEBACK_DRAIN_JOB, 'data.connection_id': connectionId })).toBe(1);
    await work(writebackJobs, async () => (await PendingWriteback.countDocuments({ connection_id: new Types.ObjectId(connectionId) })) === 0, 'the drain after reconnecting');
    expect(customers.every((c) => sf.record('Account', c.sources[0]!.external_id)!.Pivotal_Status__c === 'churned')).toBe(true);
  });
});
