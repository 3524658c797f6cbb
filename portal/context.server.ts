// What Remix loaders and actions receive as context.pivotal: the core services they may
// call. Routes import types only, so core is loaded once per process.
import { env } from '../core/env.ts';
import { consumeLoginToken, memberOf } from '../core/auth/login.ts';
import { getWorkspace } from '../core/workspaces/workspaces.ts';
import { workspaceOverview } from '../core/workspaces/health.ts';
import { resolveWorkspaceAmbiguity, workspaceAmbiguities } from '../core/billing/ambiguous.ts';
import { customerPortal } from '../core/customers/portal-services.ts';
import { webhookPortal } from '../core/webhooks/portal-services.ts';
import { queueStripeRun, saveStripeSettingsForm, stripeProblemsCsv, stripeSettingsView } from '../core/billing/settings.ts';

export function portalContext() {
  const e = env();
  return {
    appUrl: e.APP_URL,
    sessionSecret: e.SESSION_SECRET,
    secureCookies: e.APP_URL.startsWith('https://'),
    consumeLoginToken,
    memberOf,
    workspaceName: async (id: string) => (await getWorkspace(id)).name,
    workspaceOverview,
    workspaceAmbiguities,
    resolveWorkspaceAmbiguity,
    stripeSettingsView,
    saveStripeSettingsForm,
    queueStripeRun,
    stripeProblemsCsv,
    customers: customerPortal,
    webhooks: webhookPortal,
  };
}

export type PortalContext = ReturnType<typeof portalContext>;
