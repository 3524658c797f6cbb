// What Remix loaders and actions receive as context.pivotal: the core services they may
// call. Routes import types only, so core is loaded once per process.
import { env } from '../core/env.ts';
import { describeLoginToken, inviteMember, memberOf } from '../core/auth/login.ts';
import { endSession, sessionMember, signInWithLink } from '../core/auth/sessions.ts';
import { getWorkspace } from '../core/workspaces/workspaces.ts';
import { workspaceOverview } from '../core/sync/workspace-overview.ts';
import { resolveWorkspaceAmbiguity, workspaceAmbiguities } from '../core/sync/billing-ambiguous.ts';
import { customerPortal } from '../core/customers/portal-services.ts';
import { webhookPortal } from '../core/webhooks/portal-services.ts';
import { queueStripeRun, saveStripeSettingsForm, stripeProblemsCsv, stripeSettingsView } from '../core/sync/billing-settings.ts';
import { connectionsAdmin } from '../core/sync/connections-admin.ts';
import { slackPreview } from '../core/demo/slack-preview.ts';
import { changeMemberRole, listMembers, removeMember } from '../core/workspaces/members.ts';
import { linkCustomerChannel, saveSlackSettings, sendTestAlert, slackView } from '../core/slack/settings.ts';

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
    workspaceFrame: async (id: string) => {
      const w = await getWorkspace(id);
      return { id: String(w._id), name: w.name, timezone: w.timezone };
    },
    workspaceOverview,
    workspaceAmbiguities,
    resolveWorkspaceAmbiguity,
    stripeSettingsView,
    saveStripeSettingsForm,
    queueStripeRun,
    stripeProblemsCsv,
    customers: customerPortal,
    webhooks: webhookPortal,
    connections: connectionsAdmin,
    /** only under `npm run demo` */
    demoSlack: slackPreview(),
    slack: { view: slackView, save: saveSlackSettings, linkCustomer: linkCustomerChannel, testAlert: sendTestAlert },
    members: { list: listMembers, changeRole: changeMemberRole, remove: removeMember, invite: inviteMember },
  };
}

export type PortalContext = ReturnType<typeof portalContext>;
