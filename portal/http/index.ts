// Non-Remix HTTP routes of the portal process (provider webhooks, OAuth connect flows).
// Each feature adds an express router here; handlers stay thin and call core.
import type { Router } from 'express';
import { stripeWebhookRouter } from './stripe-webhooks.ts';
import { hubspotWebhooksRouter } from './hubspot-webhooks.ts';
import { connectRouter } from './connect.ts';

export const portalRouters: Router[] = [stripeWebhookRouter, hubspotWebhooksRouter, connectRouter];
