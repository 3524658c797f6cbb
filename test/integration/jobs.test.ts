// Agenda on the real engine, with real worker processes: many workers run each job
// once, and a worker killed mid-job leaves the job for another once its lock expires.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { enqueue } from '../../core/jobs/agenda.ts';
import { repoRoot } from '../../core/paths.ts';

const db = useTestDatabase('jobs');
const children: ChildProcess[] = [];

function startWorker(env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'test/fixtures/worker-child.ts')], {
    env: { ...process.env, MONGODB_URI: db.uri, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const runs = () => mongoose.connection.db!.collection('job_runs');

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('job processing', () => {
  it('runs every job exactly once with two workers sharing the database', async () => {
    await Promise.all([startWorker(), startWorker()]);
    const keys = Array.from({ length: 40 }, (_, i) => `once-${i}`);
    for (const key of keys) await enqueue('test.record', { key });
    await waitFor(async () => (await runs().countDocuments({ key: /^once-/ })) >= keys.length, 90_000);
    // give a duplicate run the chance to show up before counting
    await new Promise((r) => setTimeout(r, 1500));
    const rows = await runs().find({ key: /^once-/ }).toArray();
    const perKey = new Map<string, number>();
    for (const r of rows) perKey.set(r.key, (perKey.get(r.key) ?? 0) + 1);
    expect(rows.length).toBe(keys.length);
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);

  it('hands a job whose worker was SIGKILLed mid-run to another worker after the lock expires', async () => {
    const first = await startWorker({ LOCK_LIFETIME_MS: '2000' });
    await enqueue('test.hang', { key: 'hang-1' });
    const started = await waitFor(async () => runs().findOne({ key: 'hang-1', worker: String(first.pid) }), 60_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = await startWorker({ LOCK_LIFETIME_MS: '2000' });
    const retaken = await waitFor(async () => runs().findOne({ key: 'hang-1', worker: String(second.pid) }), 60_000);
    // (not before the dead worker's lock expired: that is stamped before the job's own start stamp, so no exact bound here)
    expect(retaken!.at.getTime()).toBeGreaterThan(started!.at.getTime());
    // and it was taken over exactly once
    expect(await runs().countDocuments({ key: 'hang-1' })).toBe(2);
  }, 120_000);

  it("takes over a SIGKILLed worker's job as soon as its heartbeat stops, long before the lock expires", async () => {
    // A ten-minute lock lifetime: only the heartbeat can explain a quick takeover.
    const first = await startWorker({ LOCK_LIFETIME_MS: '600000' });
    await enqueue('test.hang', { key: 'hang-hb' });
    await waitFor(async () => runs().findOne({ key: 'hang-hb', worker: String(first.pid) }), 60_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const killedAt = Date.now();
    const second = await startWorker({ LOCK_LIFETIME_MS: '600000' });
    const retaken = await waitFor(async () => runs().findOne({ key: 'hang-hb', worker: String(second.pid) }), 60_000);
    expect(retaken!.at.getTime() - killedAt).toBeLessThan(60_000);
    expect(await runs().countDocuments({ key: 'hang-hb' })).toBe(2);
  }, 120_000);

  it('runs a job the worker locked but never heard back about, long before the lock expires', async () => {
    // A lock whose reply was lost: the database restarted while Agenda's findOneAndUpdate was
    // in flight, and the driver's retry found the job already locked (by this same, live
    // worker), so Agenda never ran it. Here the lock is written as it was left.
    const worker = await startWorker();
    const lockedAt = new Date(Date.now() - 20_000);
    await mongoose.connection.db!.collection('agenda_jobs').insertOne({
      name: 'test.record', data: { key: 'orphan-1' }, type: 'normal', priority: 0, nextRunAt: lockedAt, lockedAt, lastModifiedBy: `${os.hostname()}:${worker.pid}`,
    });
    const since = Date.now();
    await waitFor(async () => runs().findOne({ key: 'orphan-1', worker: String(worker.pid) }), 60_000);
    // The worker's 60 s lock lifetime would have freed it 40 s from now.
    expect(Date.now() - since).toBeLessThan(30_000);
    expect(await runs().countDocuments({ key: 'orphan-1' })).toBe(1);
  }, 90_000);
});

