// A throwaway local database for one benchmark: free loopback port, temp data dir, mongoose
// connected; stopped and deleted afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { freePort, startLocalDatabase } from '../core/db/local-database.ts';
import { connectMongoose, syncIndexes } from '../core/db/connection.ts';
import { compose } from '../core/app/composition.ts';

export async function withBenchDatabase<T>(fn: (uri: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pivotal-bench-'));
  const db = await startLocalDatabase({ port: await freePort(), dir, dbName: 'bench' });
  try {
    compose();
    await connectMongoose(db.uri);
    await syncIndexes();
    return await fn(db.uri);
  } finally {
    await mongoose.disconnect().catch(() => {});
    await db.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Samples this process's RSS every 50 ms; returns the peak in MB when stopped. */
export function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  return {
    stop: () => {
      clearInterval(t);
      return Math.round((Math.max(peak, process.memoryUsage.rss()) / 1048576) * 10) / 10;
    },
  };
}
