// Worker heartbeats: each worker process refreshes one document (its own _id: a
// single writer per document). The CLI asks "is any worker
// alive?" to decide whether `sync … --wait` queues work or runs it in-process.
import os from 'node:os';
import mongoose from 'mongoose';

const COLLECTION = 'worker_heartbeats';
const BEAT_MS = 5_000;
export const WORKER_ALIVE_WITHIN_MS = 15_000;

const col = () => mongoose.connection.db!.collection<{ _id: string; at: Date; pid: number; host: string }>(COLLECTION);

export function startHeartbeat(name = `${os.hostname()}:${process.pid}`): { stop(): Promise<void> } {
  const beat = () => col().updateOne({ _id: name }, { $set: { at: new Date(), pid: process.pid, host: os.hostname() } }, { upsert: true }).catch(() => {});
  void beat();
  const timer = setInterval(beat, BEAT_MS);
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
