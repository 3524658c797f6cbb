// Background jobs on Agenda, sharing the process's mongoose connection. Modules describe
// their jobs with defineJob() (a plain value, registered nowhere); the composition root
// (core/app/composition.ts) lists them and hands the list to startJobProcessor in worker
// processes; any process can enqueue(). Agenda's lock on each job document makes many
// workers run each job once; a worker that dies mid-job loses its locks as soon as its
// heartbeat stops (./heartbeat.ts), else when the lock lifetime has passed.
import mongoose from 'mongoose';
import { Agenda, backoffStrategies, type BackoffStrategy, type Job } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { log } from '../log.ts';
import { AppError } from '../errors.ts';
import { defaultWorkerName, startHeartbeat } from './heartbeat.ts';

export const JOBS_COLLECTION = 'agenda_jobs';

export interface JobContext {
  job: Job;
  /** extend the lock while a long job is still making progress */
  touch(progress?: number): Promise<void>;
  /** aborted when the worker shuts down: long jobs checkpoint, requeue and return */
  signal: AbortSignal;
}

export interface JobOptions {
  /**
   * Agenda retries a failed job only when its definition declares a backoff. Every job
   * that can fail transiently (a provider or the database briefly away) takes
   * TRANSIENT_BACKOFF; `null` says on purpose that a failure is final.
   */
  backoff: BackoffStrategy | null;
  concurrency?: number;
  lockLifetimeMs?: number;
  priority?: 'lowest' | 'low' | 'normal' | 'high' | 'highest';
}

/** 30 s, 1, 2, 4, 8, 16 min (±10 %), then the job stays failed and visible (pruned after 14 days). */
export const TRANSIENT_BACKOFF: BackoffStrategy = backoffStrategies.exponential({ delay: 30_000, factor: 2, maxRetries: 6, maxDelay: 30 * 60_000, jitter: 0.1 });

/** Thrown by a job to be retried no sooner than the provider asked (Retry-After). */
export class RetryLater extends Error {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

/** TRANSIENT_BACKOFF's curve, but a RetryLater's own delay when it is longer; null after maxRetries. */
export function retryAfterBackoff(maxRetries = 6): BackoffStrategy {
  const base = backoffStrategies.exponential({ delay: 30_000, factor: 2, maxRetries, maxDelay: 30 * 60_000, jitter: 0.1 });
  return (ctx) => {
    const delay = base(ctx);
    if (delay === null) return null;
    return ctx.error instanceof RetryLater ? Math.max(ctx.error.retryAfterMs, 1_000) : delay;
  };
}

export interface JobDefinition {
  name: string;
  handler: (data: any, ctx: JobContext) => Promise<void>;
  options: JobOptions;
}

export function defineJob<T>(name: string, handler: (data: T, ctx: JobContext) => Promise<void>, options: JobOptions): JobDefinition {
  return { name, handler: handler as JobDefinition['handler'], options };
}

/**
 * The start-up check: every job waiting in the queue has a definition in this worker.
 * A name nobody defines would sit in the queue forever, so the worker refuses to start
 * and says which names are missing.
 */
export async function assertQueuedJobsDefined(jobs: readonly JobDefinition[]): Promise<void> {
  const known = new Set(jobs.map((j) => j.name));
  const queued = (await db().collection(JOBS_COLLECTION).distinct('name', { nextRunAt: { $ne: null } })) as string[];
  const missing = queued.filter((n) => !known.has(n));
  if (missing.length) throw new AppError('config', `Jobs are queued that no definition handles: ${missing.join(', ')}`);
}

/** Failed jobs are kept as dead letters for this long (and visible), then pruned. */
export const FAILED_JOB_RETENTION_MS = 14 * 86_400_000;

export async function pruneFailedJobs(now = Date.now()): Promise<number> {
  const res = await db().collection(JOBS_COLLECTION).deleteMany({ nextRunAt: null, failedAt: { $lt: new Date(now - FAILED_JOB_RETENTION_MS) } });
  return res.deletedCount ?? 0;
}

function db() {
  const d = mongoose.connection.db;
  if (!d) throw new AppError('unavailable', 'Database is not connected');
  return d;
}

function newAgenda(opts: { name: string; processEveryMs: number; maxConcurrency: number; defaultLockLifetimeMs: number }): Agenda {
  const backend = new MongoBackend({ mongo: db() as any, collection: JOBS_COLLECTION });
  const agenda = new Agenda({
    name: opts.name,
    backend,
    processEvery: opts.processEveryMs,
    maxConcurrency: opts.maxConcurrency,
    defaultConcurrency: 2,
    defaultLockLifetime: opts.defaultLockLifetimeMs,
    // A finished one-off job has nothing left to say: the run, event or delivery it
    // worked on records the outcome. Failed ones stay (dead letters) until pruned.
    removeOnComplete: true,
  } as any);
  agenda.on('error', (err: unknown) => log.error({ err }, 'agenda error'));
  return agenda;
}

let queue: Agenda | undefined;
/** A non-processing Agenda used to enqueue work from any role. */
async function getQueue(): Promise<Agenda> {
  if (!queue || (queue as any).backend?.repository?.collection?.s?.db !== (db() as any)) {
    queue = newAgenda({ name: `queue-${process.pid}`, processEveryMs: 60_000, maxConcurrency: 1, defaultLockLifetimeMs: 600_000 });
  }
  await (queue as any).ready;
  return queue;
}

export interface EnqueueOptions {
  /** at most one pending job matching these data fields (e.g. {'data.connection_id': id}) */
  unique?: Record<string, unknown>;
  at?: Date;
  priority?: JobOptions['priority'];
}

export async function enqueue(name: string, data: Record<string, unknown>, opts: EnqueueOptions = {}): Promise<string> {
  const agenda = await getQueue();
  const job = agenda.create(name, data);
  job.schedule(opts.at ?? new Date());
  if (opts.priority) job.priority(opts.priority);
  if (opts.unique) job.unique(opts.unique, { insertOnly: true });
  await job.save();
  return String(job.attrs._id);
}

/** Saves a repeating job (cron or interval) identified by its unique fields. */
export async function scheduleRepeating(name: string, interval: string, data: Record<string, unknown>, opts: { timezone?: string; unique: Record<string, unknown> }): Promise<void> {
  const agenda = await getQueue();
  const job = agenda.create(name, data);
  job.repeatEvery(interval, { timezone: opts.timezone, skipImmediate: true });
  job.unique(opts.unique);
  await job.save();
}

export async function cancelJobs(query: Record<string, unknown>): Promise<number> {
  const res = await db().collection(JOBS_COLLECTION).deleteMany(query);
  return res.deletedCount ?? 0;
}

/** Ids of the jobs this Agenda holds locked (queued here or running). */
async function heldJobIds(agenda: Agenda): Promise<ReadonlySet<string>> {
  const status = await agenda.getRunningStats(true);
  return new Set((status.lockedJobs as { _id?: unknown }[]).map((j) => String(j._id)));
}

export interface JobProcessor {
  agenda: Agenda;
  stop(opts?: { drainMs?: number }): Promise<void>;
}

/** Starts processing the given jobs in this process (the worker role). */
export async function startJobProcessor(opts: { jobs: readonly JobDefinition[]; concurrency?: number; processEveryMs?: number; lockLifetimeMs?: number; name?: string }): Promise<JobProcessor> {
  const names = opts.jobs.map((j) => j.name);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) throw new AppError('config', `Jobs defined twice: ${twice.join(', ')}`);
  await assertQueuedJobsDefined(opts.jobs);
  const shutdown = new AbortController();
  const name = opts.name ?? defaultWorkerName();
  // Alive before it locks anything, so no other worker takes its jobs for dead.
  let processing = false;
  const heartbeat = await startHeartbeat(name, { heldLocally: async () => (processing ? heldJobIds(agenda) : null) });
  const agenda = newAgenda({
    name,
    processEveryMs: opts.processEveryMs ?? 1_000,
    maxConcurrency: Math.max(opts.concurrency ?? 4, 1) * 2,
    defaultLockLifetimeMs: opts.lockLifetimeMs ?? 10 * 60_000,
  });
  for (const { name, handler, options } of opts.jobs) {
    agenda.define(
      name,
      async (job: Job) => {
        const started = Date.now();
        const ctx: JobContext = {
          job,
          touch: async (progress?: number) => {
            await job.touch(progress);
          },
          signal: shutdown.signal,
        };
        try {
          await handler(job.attrs.data, ctx);
          log.debug({ job: name, ms: Date.now() - started }, 'job done');
        } catch (err) {
          log.error({ job: name, err }, 'job failed');
          throw err;
        }
      },
      {
        concurrency: options.concurrency ?? opts.concurrency ?? 4,
        lockLifetime: options.lockLifetimeMs ?? opts.lockLifetimeMs,
        priority: options.priority,
        ...(options.backoff ? { backoff: options.backoff } : {}),
      } as any,
    );
  }
  await agenda.start();
  processing = true;
  return {
    agenda,
    stop: async ({ drainMs = 15_000 } = {}) => {
      await heartbeat.stop();
      // Ask long jobs to checkpoint and return, then wait for them; a job still running
      // after drainMs keeps its lock and is taken over once the lock expires.
      shutdown.abort();
      await agenda.drain({ timeout: drainMs, closeConnection: false } as any);
    },
  };
}
