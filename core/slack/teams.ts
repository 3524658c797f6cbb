// Which Slack team a workspace is bound to: exactly one. Installing or linking a new team
// replaces (unlinks) the old one; Slack's app_uninstalled and tokens_revoked events unlink
// the team, so nothing keeps calling Slack with a dead token.
import { Types } from 'mongoose';
import { SlackInstallation } from '../models/slack.ts';
import { Workspace } from '../models/workspace.ts';
import { log } from '../log.ts';
import { clearInstallationCache } from './installations.ts';

/** Unlinks every team of the workspace other than keepTeamId; returns the unlinked team ids. */
export async function unlinkOtherTeams(workspaceId: string | Types.ObjectId, keepTeamId: string): Promise<string[]> {
  const wsId = new Types.ObjectId(String(workspaceId));
  const others = await SlackInstallation.find({ workspace_id: wsId, team_id: { $ne: keepTeamId } }, { team_id: 1 }).lean();
  if (!others.length) return [];
  const teams = others.map((o) => o.team_id);
  await SlackInstallation.deleteMany({ workspace_id: wsId, team_id: { $in: teams } });
  for (const t of teams) clearInstallationCache(t);
  log.info({ workspace: String(wsId), replaced: teams, team: keepTeamId }, 'slack team replaced');
  return teams;
}

/** Forgets a team Slack says is gone (app uninstalled, bot token revoked). */
export async function unlinkTeam(teamId: string, reason: 'app_uninstalled' | 'tokens_revoked'): Promise<boolean> {
  const doc = await SlackInstallation.findOneAndDelete({ team_id: teamId }).lean();
  clearInstallationCache(teamId);
  if (!doc) return false;
  await Workspace.updateOne({ _id: doc.workspace_id, slack_team_id: teamId }, { $set: { slack_team_id: null } });
  log.info({ team: teamId, workspace: String(doc.workspace_id), reason }, 'slack team unlinked');
  return true;
}
