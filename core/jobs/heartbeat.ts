// Worker heartbeats and crash takeover. Each worker refreshes one document named like its
// Agenda instance every 5 s. Agenda stamps every job it locks with that name
// (lastModifiedBy), so a job locked by a worker whose heartbeat has stopped belongs to a
// dead process: the live workers unlock it at once instead of waiting out the lock
// lifetime (10 minutes), and a SIGKILLed sync resumes from its checkpoint in seconds.
// A live worker also frees its own orphans: jobs the database says it locked but Agenda is
// not holding, because the reply to the lock was lost (see releaseOwnOrphanedLocks).
// The CLI asks "is any worker alive?" to decide whether `sync … --wait` queues or runs.
import os from 'node:os';
import mongoose from 'mongoose';
import { log } from '../log.ts';

const COLLECTION = 'worker_heartbeats';
const JOBS_COLLECTION = 'agenda_jobs';
export const BEAT_MS = 5_000;
/** Three missed beats: the worker is dead (or cut off, in which case its jobs are better run elsewhere). */
export const WORKER_ALIVE_WITHIN_MS = 15_000;

const col = () => mongoose.connection.db!.collection<{ _id: string; at: Date; pid: number; host: string }>(COLLECTION);

export const defaultWorkerName = () => `${os.hostname()}:${process.pid}`;

export interface Heartbeat {
  stop(): Promise<void>;
}

export interface HeartbeatOptions {
  beatMs?: number;
  takeover?: boolean;
  /** ids of the jobs this worker's Agenda holds locked right now; null while it is not processing */
  heldLocally?: () => Promise<ReadonlySet<string> | null>;
}

/** Beats at once (awaited, so this worker is known alive before it locks anything), then every BEAT_MS. */
export async function startHeartbeat(name = defaultWorkerName(), opts: HeartbeatOptions = {}): Promise<Heartbeat> {
  const beat = async () => {
    await col().updateOne({ _id: name }, { $set: { at: new Date(), pid: process.pid, host: os.hostname() } }, { upsert: true });
    if (opts.takeover !== false) await releaseDeadWorkersJobs();
    const held = await opts.heldLocally?.();
    if (held) await releaseOwnOrphanedLocks(name, held);
  };
  await beat().catch((err) => log.warn({ err }, 'worker heartbeat failed'));
  const timer = setInterval(() => void beat().catch((err) => log.warn({ err }, 'worker heartbeat failed')), opts.beatMs ?? BEAT_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await col().deleteOne({ _id: name }).catch(() => {});
    },
  };
}

export async function workersAlive(withinMs = WORKER_ALIVE_WITHIN_MS): Promise<number> {
  return col().countDocuments({ at: { $gt: new Date(Date.now() - withinMs) } });
}

/**
 * Unlocks jobs held by workers without a fresh heartbeat, so the next poll of any live
 * worker runs them. Only locks older than the liveness window are considered: a worker
 * that has just started (or a process that locks without a heartbeat, like the CLI's
 * in-process runs) is never robbed within that window. Returns how many were released.
 */
export async function releaseDeadWorkersJobs(withinMs = WORKER_ALIVE_WITHIN_MS): Promise<number> {
  const cutoff = new Date(Date.now() - withinMs);
  const live = await col().distinct('_id', { at: { $gt: cutoff } });
  const res = await mongoose.connection.db!.collection(JOBS_COLLECTION).updateMany(
    { lockedAt: { $ne: null, $lt: cutoff }, lastModifiedBy: { $nin: live } },
    // nextRunAt now: a one-off job that was running has nextRunAt kept; a repeating one
    // already has its next slot, which now() only brings forward.
    { $set: { lockedAt: null, nextRunAt: new Date() } },
  );
  if (res.modifiedCount) log.warn({ released: res.modifiedCount }, 'took over jobs locked by workers whose heartbeat stopped');
  await col().deleteMany({ at: { $lt: new Date(Date.now() - 24 * 3_600_000) } });
  return res.modifiedCount;
}

/**
 * Unlocks jobs the database says this worker locked but its Agenda is not holding. That
 * happens when the reply to a lock is lost: the database went away while Agenda's
 * findOneAndUpdate was in flight, and the driver's retry found the job already locked, or
 * there was no retry (a standalone server, `retryWrites=false`). The job would otherwise
 * wait out its whole lock lifetime behind a worker that is alive. `held` is read before the
 * query, and only locks older than the liveness window count, so a job being locked or
 * finishing right now is never taken for an orphan. Returns how many were released.
 */
export async function releaseOwnOrphanedLocks(name: string, held: ReadonlySet<string>, olderThanMs = WORKER_ALIVE_WITHIN_MS): Promise<number> {
  const jobs = mongoose.connection.db!.collection(JOBS_COLLECTION);
  const locked = await jobs.find({ lastModifiedBy: name, lockedAt: { $ne: null, $lt: new Date(Date.now() - olderThanMs) } }, { projection: { lockedAt: 1 } }).toArray();
  let released = 0;
  for (const job of locked.filter((j) => !held.has(String(j._id)))) {
    const res = await jobs.updateOne({ _id: job._id, lockedAt: job.lockedAt }, { $set: { lockedAt: null, nextRunAt: new Date() } });
    released += res.modifiedCount;
  }
  if (released) log.warn({ released }, 'released jobs this worker locked but never received (the lock reply was lost)');
  return released;
}
