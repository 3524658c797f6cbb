// The composition root: the one place that lists what Pivotal runs — the job definitions,
// the domain-event consumers and the inbound-event processors per provider. Nothing
// registers itself by being imported; a worker runs exactly `jobs`, and the worker's
// start-up check refuses to start while the queue holds a job name missing from it.
// Nothing in core/ imports this module (it imports everything), so no folder cycle.
import mongoose from 'mongoose';
import { scheduleRepeating, pruneFailedJobs, defineJob, type JobDefinition } from '../jobs/agenda.ts';
import { pruneClaims } from '../jobs/claim-lock.ts';
import { SyncRun } from '../models/sync.ts';
import { InboundEvent } from '../models/events.ts';
import { pruneSupersededBilling } from '../billing/store.ts';
import { eventJobs, type EventConsumer } from '../events/dispatch.ts';
import { alertJobs, slackAlertsConsumer, ALERT_SWEEP_JOB } from '../alerts/deliver.ts';
import { syncJobs } from '../sync/engine.ts';
import { processHubspotEvent } from '../sync/webhooks.ts';
import { processStripeEvent } from '../connectors/stripe/webhooks.ts';
import { inboundJobs, INBOUND_SWEEP_JOB, type InboundProcessor } from '../inbound/pipeline.ts';
import type { Provider } from '../models/connection.ts';

/** Who reacts to domain events (outbound webhooks join here). */
export const eventConsumers: readonly EventConsumer[] = [slackAlertsConsumer];

/** How each provider's recorded webhook events are processed (Salesforce joins here). */
export const inboundProcessors: Partial<Record<Provider, InboundProcessor>> = {
  hubspot: processHubspotEvent,
  stripe: processStripeEvent,
};

const MAINTENANCE_JOB = 'maintenance.cleanup';
// Retention: sync runs after 30 days, processed inbound events after 30 days, failed jobs
// (dead letters) after 14 days, superseded billing versions.
const maintenanceJob = defineJob(
  MAINTENANCE_JOB,
  async () => {
    const now = new Date();
    await SyncRun.deleteMany({ expires_at: { $lt: now } });
    await InboundEvent.deleteMany({ status: 'processed', createdAt: { $lt: new Date(now.getTime() - 30 * 86_400_000) } });
    await pruneFailedJobs();
    await pruneSupersededBilling();
    if (mongoose.connection.db) await pruneClaims(mongoose.connection.db);
  },
  { backoff: null },
);

/** Every job a worker runs. */
export const jobs: readonly JobDefinition[] = [...syncJobs, ...eventJobs(eventConsumers), ...alertJobs, ...inboundJobs(inboundProcessors), maintenanceJob];

/** The schedules that must always exist (idempotent: unique per name). */
export async function scheduleRecurringJobs(): Promise<void> {
  await scheduleRepeating(MAINTENANCE_JOB, '1 hour', { kind: 'cleanup' }, { unique: { name: MAINTENANCE_JOB } });
  await scheduleRepeating('events.sweep', '2 minutes', { kind: 'sweep' }, { unique: { name: 'events.sweep' } });
  await scheduleRepeating(INBOUND_SWEEP_JOB, '2 minutes', { kind: 'sweep' }, { unique: { name: INBOUND_SWEEP_JOB } });
  await scheduleRepeating(ALERT_SWEEP_JOB, '1 minute', { kind: 'sweep' }, { unique: { name: ALERT_SWEEP_JOB } });
}
