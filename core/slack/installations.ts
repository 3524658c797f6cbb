// Resolving a Slack team to its bot token and Pivotal workspace (Bolt's authorize).
// A team that is not linked gets no data: the listeners answer "not connected".
import { SlackInstallation } from '../models/slack.ts';
import { decryptSecret } from '../crypto.ts';
import { env } from '../env.ts';
import { AppError } from '../errors.ts';

export interface TeamAuthorization {
  botToken: string;
  botUserId?: string;
  teamId?: string;
  workspaceId?: string;
}

export async function authorizeTeam(teamId: string | undefined, _enterpriseId?: string): Promise<TeamAuthorization> {
  const install = teamId ? await SlackInstallation.findOne({ team_id: teamId }).lean() : null;
  if (install && install.status === 'ok') {
    return { botToken: decryptSecret(install.bot_token), botUserId: install.bot_user_id ?? undefined, teamId, workspaceId: String(install.workspace_id) };
  }
  const single = env().SLACK_BOT_TOKEN;
  if (single) return { botToken: single, teamId };
  throw new AppError('unauthorized', `Slack team ${teamId ?? '(unknown)'} is not connected to a Pivotal workspace`);
}

export async function workspaceIdForTeam(teamId: string | undefined): Promise<string | null> {
  if (!teamId) return null;
  const install = await SlackInstallation.findOne({ team_id: teamId }, { workspace_id: 1 }).lean();
  return install ? String(install.workspace_id) : null;
}
