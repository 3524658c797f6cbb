// Processing of one recorded Stripe event (the inbound pipeline's processor for Stripe):
// a revoked authorization stops syncing; otherwise the affected Stripe customer is re-read,
// so out-of-order deliveries converge on the newest state. As the customer source, the
// customer record is re-synced first (subscription events move it in or out of the source
// filter), then billing follows for every role.
import { Connection } from '../models/connection.ts';
import type { StoredInboundEvent } from '../inbound/pipeline.ts';
import type { StripeEventRef } from '../connectors/stripe/webhooks.ts';
import { markReauthorize } from './connections.ts';
import { syncRecord } from './engine.ts';
import { syncStripeCustomers } from './billing-run.ts';

export async function processStripeEvent(event: StoredInboundEvent): Promise<void> {
  const conn = await Connection.findById(event.connection_id);
  if (!conn || conn.state === 'disconnected') return;
  const p = event.payload as { id?: string; type?: string; customer_id?: string | null };
  const ref: StripeEventRef = { id: p.id ?? event.event_id, type: p.type ?? event.type ?? '', customerId: p.customer_id ?? null };
  if (ref.type === 'account.application.deauthorized') {
    // The account owner revoked Pivotal in their Stripe dashboard: syncing stops until they reconnect.
    await markReauthorize(conn._id, 'Pivotal was disconnected from the Stripe dashboard: reconnect Stripe to resume billing updates');
    return;
  }
  if (!ref.customerId) return;
  if (conn.role === 'customer_source') {
    const r = await syncRecord(String(conn._id), 'customer', ref.customerId, 'webhook');
    if (r.status === 'failed') throw new Error(r.message ?? 'record sync failed');
  }
  await syncStripeCustomers(conn, [ref.customerId], 'stripe');
}
