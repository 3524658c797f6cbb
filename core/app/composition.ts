// The composition root: the one place that lists what Pivotal runs — the job definitions,
// the domain-event consumers and the inbound-event processors per provider. Nothing
// registers itself by being imported; a worker runs exactly `jobs`, and the worker's
// start-up check refuses to start while the queue holds a job name missing from it.
// Nothing in core/ imports this module (it imports everything), so no folder cycle.
import { cancelJobs, scheduleRepeating, pruneFailedJobs, defineJob, type JobDefinition } from '../jobs/agenda.ts';
import { eventJobs, type EventConsumer } from '../events/dispatch.ts';
import { alertJobs, slackAlertsConsumer, ALERT_SWEEP_JOB } from '../alerts/deliver.ts';
import { syncJobs } from '../sync/engine.ts';
import { writebackJobs } from '../sync/writeback-queue.ts';
import { processHubspotEvent } from '../sync/webhooks.ts';
import { processStripeEvent } from '../connectors/stripe/webhooks.ts';
import { inboundJobs, INBOUND_SWEEP_JOB, type InboundProcessor } from '../inbound/pipeline.ts';
import type { Provider } from '../models/connection.ts';
import { defineHealthJobs, scheduleHealthJobs } from '../health/jobs.ts';
import { defineWebhookJobs, outboundWebhooksConsumer } from '../webhooks/deliver.ts';
import type { Connector } from '../connectors/connector.ts';
import { hubspot } from '../connectors/hubspot/index.ts';
import { stripeConnector } from '../connectors/stripe/index.ts';

/**
 * The connectors of this build (Salesforce joins here). Each module still hands itself to
 * core/connectors/registry.ts, where the engine looks providers up; importing them here is
 * what makes every process that runs jobs have them all.
 */
export const connectors = { hubspot, stripe: stripeConnector } satisfies Partial<Record<Provider, Connector>>;

/** Who reacts to domain events (outbound webhooks join here). */
export const eventConsumers: readonly EventConsumer[] = [slackAlertsConsumer, outboundWebhooksConsumer];

/** How each provider's recorded webhook events are processed (Salesforce joins here). */
export const inboundProcessors: Partial<Record<Provider, InboundProcessor>> = {
  hubspot: processHubspotEvent,
  stripe: processStripeEvent,
};

const PRUNE_JOB = 'jobs.prune';
// Sync runs and processed inbound events expire by TTL index; failed jobs (dead letters)
// have no single date field a TTL index could use safely, so they are pruned here after 14 days.
const pruneJob = defineJob(PRUNE_JOB, async () => void (await pruneFailedJobs()), { backoff: null });

/** Every job a worker runs. */
export const jobs: readonly JobDefinition[] = [...syncJobs, ...writebackJobs, ...eventJobs(eventConsumers), ...alertJobs, ...inboundJobs(inboundProcessors), ...defineHealthJobs(), ...defineWebhookJobs(), pruneJob];

/** The schedules that must always exist (idempotent: unique per name). */
export async function scheduleRecurringJobs(): Promise<void> {
  await cancelJobs({ name: { $in: ['maintenance.cleanup', 'stripe.events.sweep'] } }); // retired
  await scheduleRepeating(PRUNE_JOB, '1 hour', { kind: 'prune' }, { unique: { name: PRUNE_JOB } });
  await scheduleRepeating('events.sweep', '2 minutes', { kind: 'sweep' }, { unique: { name: 'events.sweep' } });
  await scheduleHealthJobs();
  await scheduleRepeating(INBOUND_SWEEP_JOB, '2 minutes', { kind: 'sweep' }, { unique: { name: INBOUND_SWEEP_JOB } });
  await scheduleRepeating(ALERT_SWEEP_JOB, '1 minute', { kind: 'sweep' }, { unique: { name: ALERT_SWEEP_JOB } });
}
