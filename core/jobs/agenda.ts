// Background jobs on Agenda, sharing the process's mongoose connection. Modules declare
// their jobs with defineJob() at import time; any process can enqueue(); only worker
// processes (startJobProcessor) run them. Agenda's own lock on each job document (an
// atomic findOneAndUpdate) is what makes many workers on many machines run each job once,
// and a worker that dies mid-job lets another pick the job up once its lock lifetime has passed.
import mongoose from 'mongoose';
import { Agenda, type Job } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { log } from '../log.ts';
import { AppError } from '../errors.ts';
import { startHeartbeat } from './heartbeat.ts';

export const JOBS_COLLECTION = 'agenda_jobs';

export interface JobContext {
  job: Job;
  /** extend the lock while a long job is still making progress */
  touch(progress?: number): Promise<void>;
  /** aborted when the worker shuts down: long jobs checkpoint, requeue and return */
  signal: AbortSignal;
}

export interface JobOptions {
  concurrency?: number;
  lockLifetimeMs?: number;
  priority?: 'lowest' | 'low' | 'normal' | 'high' | 'highest';
}

type Handler = (data: any, ctx: JobContext) => Promise<void>;
const registry = new Map<string, { handler: Handler; options: JobOptions }>();

export function defineJob<T>(name: string, handler: (data: T, ctx: JobContext) => Promise<void>, options: JobOptions = {}): void {
  registry.set(name, { handler: handler as Handler, options });
}

export function definedJobs(): string[] {
  return [...registry.keys()];
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

export interface JobProcessor {
  agenda: Agenda;
  stop(opts?: { drainMs?: number }): Promise<void>;
}

/** Starts processing every defined job in this process (the worker role). */
export async function startJobProcessor(opts: { concurrency?: number; processEveryMs?: number; lockLifetimeMs?: number; name?: string } = {}): Promise<JobProcessor> {
  const shutdown = new AbortController();
  const agenda = newAgenda({
    name: opts.name ?? `worker-${process.pid}`,
    processEveryMs: opts.processEveryMs ?? 1_000,
    maxConcurrency: Math.max(opts.concurrency ?? 4, 1) * 2,
    defaultLockLifetimeMs: opts.lockLifetimeMs ?? 10 * 60_000,
  });
  for (const [name, { handler, options }] of registry) {
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
      } as any,
    );
  }
  await agenda.start();
  const heartbeat = startHeartbeat();
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
