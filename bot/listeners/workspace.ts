// Which Pivotal workspace a Slack request belongs to. authorize() may fall back to the
// single-workspace token for any team, so every listener checks the team maps to a
// workspace here before showing data: an unlinked team gets "not connected", nothing else.
import { workspaceIdForTeam } from '../../core/slack/installations.ts';

export const NOT_CONNECTED = 'This Slack workspace is not connected to Pivotal yet, so there is nothing to show. A Pivotal admin can connect it from the portal (Slack → Install) or with `pivotal slack link`.';

export async function workspaceForTeam(teamId: string | undefined | null): Promise<string | null> {
  return workspaceIdForTeam(teamId ?? undefined);
}
