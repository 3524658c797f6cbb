// Linking a Slack team to a workspace without the OAuth install (single-workspace token
// mode and the operator CLI). One Slack team maps to exactly one workspace.
import { z } from 'zod';
import { SlackInstallation } from '../models/slack.ts';
import { Workspace } from '../models/workspace.ts';
import { encryptSecret } from '../crypto.ts';
import { AppError } from '../errors.ts';
import { getWorkspace } from '../workspaces/workspaces.ts';
import { clearInstallationCache } from './installations.ts';
import { unlinkOtherTeams } from './teams.ts';
import { classifySlackError, slackClient } from './client.ts';

/**
 * Proves a bot token works with Slack's one cheap call (auth.test) and that it belongs to
 * the team being linked; refuses with Slack's own reason (invalid_auth, token_revoked, …).
 */
export async function verifySlackBotToken(botToken: string, teamId: string): Promise<void> {
  let teamOfToken: string | undefined;
  try {
    teamOfToken = (await slackClient(botToken).auth.test()).team_id;
  } catch (e) {
    const failure = classifySlackError(e);
    if (failure.kind === 'auth') throw new AppError('bad_input', `Slack rejected the bot token: ${failure.error}`);
    throw new AppError('unavailable', `Slack could not check the bot token (${failure.kind === 'rate_limited' ? 'rate limited' : failure.error}); try again`);
  }
  if (teamOfToken !== teamId) throw new AppError('bad_input', `The bot token belongs to Slack team ${teamOfToken ?? '(unknown)'}, not ${teamId}`);
}

export const slackTeamId = z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'team id looks like T0123ABCD');
export const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'channel id looks like C0123ABCD');
export const slackBotToken = z.string().regex(/^xoxb-[A-Za-z0-9-]+$/, 'bot token starts with xoxb-');

export async function linkSlackTeam(input: { workspaceId: string; teamId: string; botToken: string; defaultChannelId?: string; source?: 'cli' | 'env' | 'oauth'; verifyToken?: boolean }) {
  const team = slackTeamId.safeParse(input.teamId);
  if (!team.success) throw new AppError('bad_input', `--team: ${team.error.issues[0]!.message}`);
  const token = slackBotToken.safeParse(input.botToken);
  if (!token.success) throw new AppError('bad_input', `--bot-token: ${token.error.issues[0]!.message}`);
  if (input.defaultChannelId !== undefined) {
    const ch = slackChannelId.safeParse(input.defaultChannelId);
    if (!ch.success) throw new AppError('bad_input', `--default-channel: ${ch.error.issues[0]!.message}`);
  }
  const ws = await getWorkspace(input.workspaceId);
  const existing = await SlackInstallation.findOne({ team_id: input.teamId }).lean();
  if (existing && String(existing.workspace_id) !== String(ws._id)) {
    throw new AppError('conflict', `Slack team ${input.teamId} is already linked to another workspace (${String(existing.workspace_id)}); a team maps to exactly one workspace`);
  }
  if (input.verifyToken) await verifySlackBotToken(input.botToken, input.teamId);
  const install = await SlackInstallation.findOneAndUpdate(
    { team_id: input.teamId },
    {
      $set: { workspace_id: ws._id, bot_token: encryptSecret(input.botToken), source: input.source ?? 'cli', status: 'ok', status_reason: null },
    },
    { upsert: true, returnDocument: 'after' },
  );
  const update: Record<string, unknown> = { slack_team_id: input.teamId };
  if (input.defaultChannelId) update['settings.alerts.default_channel_id'] = input.defaultChannelId;
  await Workspace.updateOne({ _id: ws._id }, { $set: update });
  await unlinkOtherTeams(ws._id, input.teamId); // one Slack team per workspace
  clearInstallationCache(input.teamId);
  return { workspaceId: String(ws._id), teamId: input.teamId, defaultChannelId: input.defaultChannelId ?? ws.settings?.alerts?.default_channel_id ?? null, installationId: String(install!._id) };
}
