// POST /webhooks/hubspot: HubSpot webhook batches. Verified (X-HubSpot-Signature-v3 with
// HUBSPOT_CLIENT_SECRET, 5-minute freshness), deduplicated by event id through
// InboundEvent's unique index, and answered fast: each event only queues a re-read of its
// object, so out-of-order or repeated deliveries converge on the newest source state.
import express, { Router } from 'express';
import { env } from '../../core/env.ts';
import { log } from '../../core/log.ts';
import { hubspot } from '../../core/connectors/hubspot/index.ts';
import { recordHubspotEvents } from '../../core/sync/webhooks.ts';

export const hubspotWebhooksRouter = Router();

hubspotWebhooksRouter.post('/webhooks/hubspot', express.raw({ type: () => true, limit: '2mb' }), async (req, res, next) => {
  try {
    const secret = env().HUBSPOT_CLIENT_SECRET;
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // HubSpot signs the URL it called; behind a proxy that is APP_URL + path.
    const urls = [`${env().APP_URL.replace(/\/+$/, '')}${req.originalUrl}`, `${req.protocol}://${req.get('host')}${req.originalUrl}`];
    const verified = !!secret && urls.some((url) => hubspot.verifyWebhook!({ method: req.method, url, headers: req.headers, rawBody }, secret));
    if (!verified) return res.status(401).json({ error: 'invalid or stale signature' });
    let events;
    try {
      events = hubspot.parseWebhook!({ method: req.method, url: urls[0]!, headers: req.headers, rawBody });
    } catch (e) {
      return res.status(400).json({ error: e instanceof Error ? e.message : 'malformed body' });
    }
    const r = await recordHubspotEvents(events);
    res.status(200).json(r);
  } catch (e) {
    log.error({ err: e }, 'hubspot webhook failed');
    next(e);
  }
});
