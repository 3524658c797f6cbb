// Every job Pivotal runs, imported by the worker role so defineJob() calls register,
// and the schedules that must always exist.
import { cancelJobs, scheduleRepeating } from './agenda.ts';
import '../events/dispatch.ts';
import '../alerts/deliver.ts';
import '../sync/engine.ts';
import '../connectors/stripe/index.ts';
import { defineHealthJobs, scheduleHealthJobs } from '../health/jobs.ts';
import { defineWebhookJobs } from '../webhooks/deliver.ts';

defineHealthJobs();
defineWebhookJobs();

// Retention is TTL indexes on the models (sync runs 30 days, processed inbound events 30 days).

export async function scheduleRecurringJobs(): Promise<void> {
  await cancelJobs({ name: 'maintenance.cleanup' }); // retired: TTL indexes do its work now
  await scheduleRepeating('events.sweep', '2 minutes', { kind: 'sweep' }, { unique: { name: 'events.sweep' } });
  await scheduleHealthJobs();
  await scheduleRepeating('stripe.events.sweep', '5 minutes', { kind: 'sweep' }, { unique: { name: 'stripe.events.sweep' } });
}
