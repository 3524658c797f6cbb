// Every model of the domain, imported once so indexes can be built at start.
export * from './workspace.ts';
export * from './customer.ts';
export * from './contact.ts';
export * from './connection.ts';
export * from './sync.ts';
export * from './activity.ts';
export * from './counter.ts';
export * from './slack.ts';
export * from './events.ts';
export * from './auth.ts';
export * from './alerts.ts';
export * from './health.ts';
export * from './webhooks.ts';
export * from './writeback.ts';
