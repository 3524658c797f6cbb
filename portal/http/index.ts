// Non-Remix HTTP routes of the portal process (provider webhooks, OAuth connect flows).
// Each feature adds an express router here; handlers stay thin and call core.
import type { Router } from 'express';

export const portalRouters: Router[] = [];
