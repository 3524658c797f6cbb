// On the very first start (no workspace yet) Pivotal creates one and prints a one-time
// sign-in link for its owner, so a newcomer lands in the portal without the CLI. In
// production the link would be a credential in the logs, so it says how to make one instead.
import { Workspace } from '../models/workspace.ts';
import { createWorkspace } from '../workspaces/workspaces.ts';
import { inviteMember } from './login.ts';
import { env } from '../env.ts';

/** What to print on the first start (null on later starts). */
export async function firstStartSignIn(): Promise<string | null> {
  if ((await Workspace.estimatedDocumentCount()) > 0) return null;
  const ws = await createWorkspace({ name: 'My workspace', timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
  const e = env();
  if (e.NODE_ENV === 'production') {
    return `First start: workspace ${String(ws._id)} created. Create the owner's one-time sign-in link with:\n  npx pivotal admin invite --workspace ${String(ws._id)} --email you@example.com --role owner`;
  }
  const { link } = await inviteMember({ workspaceId: String(ws._id), email: e.PIVOTAL_ADMIN_EMAIL, role: 'owner' });
  return `First start: sign in as the workspace owner with this one-time link (valid 24 h):\n  ${link}`;
}
