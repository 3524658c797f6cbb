// On the very first start (no workspace yet) Pivotal creates one and prints a one-time
// sign-in link for its owner, so a newcomer lands in the portal without the CLI.
import { Workspace } from '../models/workspace.ts';
import { createWorkspace } from '../workspaces/workspaces.ts';
import { inviteMember } from './login.ts';
import { env } from '../env.ts';

export async function firstStartSignIn(): Promise<string | null> {
  if ((await Workspace.estimatedDocumentCount()) > 0) return null;
  const ws = await createWorkspace({ name: 'My workspace', timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
  const email = env().PIVOTAL_ADMIN_EMAIL;
  const { link } = await inviteMember({ workspaceId: String(ws._id), email, role: 'owner' });
  return link;
}
