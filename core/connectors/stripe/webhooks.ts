// Stripe webhook events as data: signature verification (300 s tolerance either way) and
// what an event is about. Routing, recording and processing are core/sync/stripe-events.ts's.
import Stripe from 'stripe';
import { errorMessage } from '../../errors.ts';

export const WEBHOOK_TOLERANCE_SEC = 300;

/** The verified event, or why it was refused (bad, stale or foreign signature, a body that is not JSON). */
export function verifyStripeEvent(rawBody: Buffer, signature: string, secret: string): { event: Stripe.Event } | { error: string } {
  try {
    return { event: Stripe.webhooks.constructEvent(rawBody, signature, secret, WEBHOOK_TOLERANCE_SEC) };
  } catch (e) {
    return { error: `webhook rejected: ${errorMessage(e)}` };
  }
}

/** Events whose object names (or is) a Stripe customer whose billing may have changed. */
export function affectedCustomerId(event: { type: string; data: { object: any } }): string | null {
  const obj = event.data?.object;
  if (!obj || typeof obj !== 'object') return null;
  if (event.type.startsWith('customer.subscription.') || event.type.startsWith('invoice.')) {
    return typeof obj.customer === 'string' ? obj.customer : (obj.customer?.id ?? null);
  }
  if (event.type === 'customer.created' || event.type === 'customer.updated' || event.type === 'customer.deleted') return obj.id ?? null;
  return null;
}

/** What processing needs of an event; stored on the InboundEvent, so a retry needs no redelivery. */
export interface StripeEventRef {
  id: string;
  type: string;
  /** the Stripe customer whose state the event may have changed */
  customerId: string | null;
}
