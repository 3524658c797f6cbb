// What Remix loaders and actions receive as context.pivotal: the core services they may
// call. Routes import types only, so core is loaded once per process.
import { env } from '../core/env.ts';
import { describeLoginToken, memberOf } from '../core/auth/login.ts';
import { endSession, sessionMember, signInWithLink } from '../core/auth/sessions.ts';
import { getWorkspace } from '../core/workspaces/workspaces.ts';
import { workspaceOverview } from '../core/workspaces/health.ts';
import { resolveWorkspaceAmbiguity, workspaceAmbiguities } from '../core/billing/ambiguous.ts';
import { queueStripeRun, saveStripeSettingsForm, stripeProblemsCsv, stripeSettingsView } from '../core/billing/settings.ts';

export function portalContext() {
  const e = env();
  return {
    appUrl: e.APP_URL,
    sessionSecret: e.SESSION_SECRET,
    secureCookies: e.APP_URL.startsWith('https://'),
    describeLoginToken,
    signInWithLink,
    sessionMember,
    endSession,
    memberOf,
    workspaceName: async (id: string) => (await getWorkspace(id)).name,
    workspaceOverview,
    workspaceAmbiguities,
    resolveWorkspaceAmbiguity,
    stripeSettingsView,
    saveStripeSettingsForm,
    queueStripeRun,
    stripeProblemsCsv,
  };
}

export type PortalContext = ReturnType<typeof portalContext>;
