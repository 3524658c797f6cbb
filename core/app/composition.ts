// The composition root: the one place that lists what Pivotal runs — the connectors, the
// job definitions, the domain-event consumers and the inbound-event processors per
// provider. Nothing registers itself by being imported: every entry point (scripts/start.ts
// for portal, bot and worker; the CLI; the demo; the tests' database helper) calls
// compose() once at start, which installs the connectors where the engine looks them up.
// A worker runs exactly `jobs`; its start-up check refuses to start while the queue holds
// a job name missing from it. Only entry points import this module (it imports everything).
import { cancelJobs, scheduleRepeating, pruneFailedJobs, defineJob, type JobDefinition } from '../jobs/agenda.ts';
import { eventJobs, type EventConsumer } from '../events/dispatch.ts';
import { alertJobs, slackAlertsConsumer, ALERT_SWEEP_JOB } from '../alerts/deliver.ts';
import { syncJobs } from '../sync/engine.ts';
import { writebackJobs } from '../sync/writeback-queue.ts';
import { processHubspotEvent } from '../sync/webhooks.ts';
import { processStripeEvent } from '../sync/stripe-events.ts';
import { inboundJobs, INBOUND_SWEEP_JOB, type InboundProcessor } from '../inbound/pipeline.ts';
import type { Provider } from '../models/connection.ts';
import { defineHealthJobs, scheduleHealthJobs } from '../health/jobs.ts';
import { defineWebhookJobs, outboundWebhooksConsumer } from '../webhooks/deliver.ts';
import type { Connector } from '../connectors/connector.ts';
import { installConnectors } from '../connectors/registry.ts';
import { hubspot } from '../connectors/hubspot/index.ts';
import { salesforce } from '../connectors/salesforce/index.ts';
import { stripeConnector } from '../connectors/stripe/index.ts';

/** The connectors of this build, one per provider (a missing one is a type error). */
export const connectors = { hubspot, salesforce, stripe: stripeConnector } satisfies Record<Provider, Connector>;

/** Wires the process: installs the connectors where the engine finds them. Idempotent. */
export function compose(): void {
  installConnectors(connectors);
}

/** Who reacts to domain events (outbound webhooks join here). */
export const eventConsumers: readonly EventConsumer[] = [slackAlertsConsumer, outboundWebhooksConsumer];

/** How each provider's recorded webhook events are processed (Salesforce polls: none yet). */
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
