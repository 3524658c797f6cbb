// Every job Pivotal runs, imported by the worker role so defineJob() calls register,
// and the schedules that must always exist.
import { defineJob, scheduleRepeating } from './agenda.ts';
import { SyncRun } from '../models/sync.ts';
import mongoose from 'mongoose';
import { InboundEvent } from '../models/events.ts';
import '../events/dispatch.ts';
import '../alerts/deliver.ts';
import '../sync/engine.ts';
import '../connectors/stripe/index.ts';
import { pruneClaims } from './claim-lock.ts';
import { pruneSupersededBilling } from '../billing/store.ts';
import { defineHealthJobs, scheduleHealthJobs } from '../health/jobs.ts';

defineHealthJobs();

// Retention: sync runs after 30 days (expires_at), processed inbound events after 30 days,
// billing versions superseded by a newer one (a walk that stopped before pruning).
// A job rather than a TTL index, which FerretDB v1 does not implement.
defineJob('maintenance.cleanup', async () => {
  const now = new Date();
  await SyncRun.deleteMany({ expires_at: { $lt: now } });
  await InboundEvent.deleteMany({ status: 'processed', createdAt: { $lt: new Date(now.getTime() - 30 * 86_400_000) } });
  await pruneSupersededBilling();
  if (mongoose.connection.db) await pruneClaims(mongoose.connection.db);
});

export async function scheduleRecurringJobs(): Promise<void> {
  await scheduleRepeating('maintenance.cleanup', '1 hour', { kind: 'cleanup' }, { unique: { name: 'maintenance.cleanup' } });
  await scheduleRepeating('events.sweep', '2 minutes', { kind: 'sweep' }, { unique: { name: 'events.sweep' } });
  await scheduleHealthJobs();
  await scheduleRepeating('stripe.events.sweep', '5 minutes', { kind: 'sweep' }, { unique: { name: 'stripe.events.sweep' } });
}
