// POST /webhooks/stripe/:connectionId — raw body (the signature covers the exact bytes),
// handed to core; answers 2xx only once the event is recorded, 400/401/404 for bad input.
import express, { Router } from 'express';
import { handleStripeConnectWebhook, handleStripeWebhook } from '../../core/sync/stripe-events.ts';
import { log } from '../../core/log.ts';

export const stripeWebhookRouter: Router = Router();

stripeWebhookRouter.post('/webhooks/stripe/:connectionId', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
  try {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const out = await handleStripeWebhook(req.params.connectionId!, body, req.header('stripe-signature'));
    res.status(out.status).json(out.body);
  } catch (err) {
    // Not recorded: a 503 makes Stripe redeliver (its retries are the durable queue here).
    log.error({ err }, 'stripe webhook could not be recorded');
    res.status(503).json({ error: 'temporarily unavailable, retry later' });
  }
});

// POST /webhooks/stripe — the platform's Connect endpoint: events of connected accounts,
// signed with STRIPE_CONNECT_WEBHOOK_SECRET and routed by their `account`.
stripeWebhookRouter.post('/webhooks/stripe', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
  try {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const out = await handleStripeConnectWebhook(body, req.header('stripe-signature'));
    res.status(out.status).json(out.body);
  } catch (err) {
    log.error({ err }, 'stripe connect webhook could not be recorded');
    res.status(503).json({ error: 'temporarily unavailable, retry later' });
  }
});
