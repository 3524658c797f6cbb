// One shared mongoose connection per process. Roles, the CLI and tests all go through
// connectDatabase(), which also starts (or shares) the embedded local database when no
// MONGODB_URI is set.
import mongoose from 'mongoose';
import { env } from '../env.ts';
import { log } from '../log.ts';
import { dropRetiredIndexes } from './retired-indexes.ts';
import { moveBillingOntoCustomers } from './billing-upgrade.ts';
import { startLocalDatabase, type RunningDatabase } from './local-database.ts';

mongoose.set('strictQuery', true);

export interface DatabaseHandle {
  uri: string;
  local?: RunningDatabase;
  close(): Promise<void>;
}

/** Connects mongoose to uri (no engine management). */
export async function connectMongoose(uri: string): Promise<void> {
  if (mongoose.connection.readyState === 1) return;
  await mongoose.connect(uri, {
    serverSelectionTimeoutMS: 10_000,
    maxPoolSize: 20,
    // command timings for profiling (bench/_slack_bot_proc.ts BENCH_PROFILE)
    monitorCommands: !!process.env.BENCH_PROFILE,
    autoIndex: true,
  });
}

/** The database for this process: MONGODB_URI, else the embedded local engine. */
export async function connectDatabase(opts: { say?: (line: string) => void } = {}): Promise<DatabaseHandle> {
  const e = env();
  let local: RunningDatabase | undefined;
  let uri = e.MONGODB_URI;
  if (!uri) {
    local = await startLocalDatabase({ port: e.PIVOTAL_DB_PORT, say: opts.say });
    uri = local.uri;
    log.info({ port: local.port, owned: local.owned }, 'using the embedded local database');
  }
  await connectMongoose(uri);
  await syncIndexes();
  return {
    uri,
    local,
    close: async () => {
      await mongoose.disconnect();
      await local?.stop();
    },
  };
}

/** Builds every model's indexes (unique constraints are part of the data design). */
export async function syncIndexes(): Promise<void> {
  await import('../models/index.ts');
  if (mongoose.connection.db) {
    await dropRetiredIndexes(mongoose.connection.db);
    await moveBillingOntoCustomers(mongoose.connection.db);
  }
  await Promise.all(Object.values(mongoose.models).map((m) => m.init()));
}

/** Readiness: the database answers a ping. */
export async function databaseReady(): Promise<boolean> {
  try {
    if (mongoose.connection.readyState !== 1 || !mongoose.connection.db) return false;
    await mongoose.connection.db.admin().ping();
    return true;
  } catch {
    return false;
  }
}
