// Multi-workspace Slack install (OAuth v2). The portal hands an admin a signed,
// short-lived install link naming their workspace; the bot turns it into Slack's consent
// redirect (state carries the workspace id); Slack's callback stores the installation
// encrypted in MongoDB, mapped to exactly that workspace. Teams linked with
// `pivotal slack link` live in the same collection.
import crypto from 'node:crypto';
import { InstallProvider, type Installation, type InstallationStore } from '@slack/oauth';
import { SlackInstallation } from '../models/slack.ts';
import { Workspace } from '../models/workspace.ts';
import { decryptJson, encryptJson, encryptSecret, safeEqual } from '../crypto.ts';
import { env } from '../env.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import { parseObjectId } from '../workspaces/workspaces.ts';

export const SLACK_BOT_SCOPES = ['commands', 'chat:write', 'chat:write.public', 'channels:join', 'channels:read', 'groups:read', 'channels:history', 'groups:history', 'users:read', 'users:read.email', 'team:read'];
const INSTALL_LINK_TTL_MS = 60 * 60_000;

/** Where Slack reaches the bot: SLACK_PUBLIC_URL, else APP_URL (with SLACK_PORT for localhost). */
export function slackPublicUrl(): string {
  const e = env();
  if (e.SLACK_PUBLIC_URL) return e.SLACK_PUBLIC_URL.replace(/\/$/, '');
  const u = new URL(e.APP_URL);
  if (u.hostname === 'localhost' || u.hostname === '127.0.0.1') u.port = String(e.SLACK_PORT);
  return u.origin;
}

function sign(payload: string): string {
  return crypto.createHmac('sha256', env().SESSION_SECRET).update(`slack-install:${payload}`).digest('base64url');
}

export async function createSlackInstallLink(workspaceId: string): Promise<string> {
  const id = parseObjectId(workspaceId, 'workspace');
  if (!(await Workspace.exists({ _id: id }))) throw new AppError('not_found', `No workspace with id ${workspaceId}`);
  const payload = `${String(id)}.${Date.now() + INSTALL_LINK_TTL_MS}`;
  return `${slackPublicUrl()}/slack/install?token=${payload}.${sign(payload)}`;
}

/** The workspace id an install link was made for; throws when forged or expired. */
export function verifyInstallToken(token: string | undefined): string {
  const parts = (token ?? '').split('.');
  if (parts.length !== 3) throw new AppError('unauthorized', 'This install link is not valid: start the install from the Pivotal portal');
  const [workspaceId, exp, sig] = parts as [string, string, string];
  if (!safeEqual(sign(`${workspaceId}.${exp}`), sig)) throw new AppError('unauthorized', 'This install link is not valid: start the install from the Pivotal portal');
  if (!(Number(exp) > Date.now())) throw new AppError('unauthorized', 'This install link has expired: start the install again from the Pivotal portal');
  return workspaceId;
}

/** The installation store Bolt's OAuth flow writes to (team → workspace, tokens encrypted). */
export const mongoInstallationStore: InstallationStore = {
  async storeInstallation(installation: Installation) {
    const teamId = installation.team?.id;
    if (!teamId || installation.isEnterpriseInstall) throw new AppError('bad_input', 'Pivotal installs into one Slack workspace at a time (org-wide installs are not supported)');
    const workspaceId = installation.metadata;
    if (!workspaceId || !(await Workspace.exists({ _id: parseObjectId(workspaceId, 'workspace') }))) throw new AppError('bad_input', 'The install did not say which Pivotal workspace it is for');
    const existing = await SlackInstallation.findOne({ team_id: teamId }, { workspace_id: 1 }).lean();
    if (existing && String(existing.workspace_id) !== workspaceId) {
      throw new AppError('conflict', `Slack team ${teamId} is already connected to another Pivotal workspace`);
    }
    if (!installation.bot?.token) throw new AppError('bad_input', 'Slack did not return a bot token');
    await SlackInstallation.updateOne(
      { team_id: teamId },
      {
        $set: {
          workspace_id: parseObjectId(workspaceId, 'workspace'),
          team_name: installation.team?.name ?? null,
          bot_user_id: installation.bot.userId,
          bot_token: encryptSecret(installation.bot.token),
          installation: encryptJson(installation),
          source: 'oauth',
          status: 'ok',
          status_reason: null,
        },
      },
      { upsert: true },
    );
    await Workspace.updateOne({ _id: parseObjectId(workspaceId, 'workspace') }, { $set: { slack_team_id: teamId } });
    log.info({ team: teamId, workspace: workspaceId }, 'slack app installed');
  },
  async fetchInstallation(query) {
    const doc = query.teamId ? await SlackInstallation.findOne({ team_id: query.teamId }).lean() : null;
    if (!doc?.installation) throw new AppError('not_found', `No Slack installation for team ${query.teamId ?? '(none)'}`);
    return decryptJson<Installation>(doc.installation);
  },
  async deleteInstallation(query) {
    if (query.teamId) await SlackInstallation.deleteOne({ team_id: query.teamId });
  },
};

// @slack/oauth logs through this adapter so its lines land in pino (JSON, redacted).
const oauthLogger = {
  debug: (...msg: unknown[]) => log.debug({ lib: 'slack-oauth' }, msg.map(String).join(' ')),
  info: (...msg: unknown[]) => log.info({ lib: 'slack-oauth' }, msg.map(String).join(' ')),
  warn: (...msg: unknown[]) => log.warn({ lib: 'slack-oauth' }, msg.map(String).join(' ')),
  error: (...msg: unknown[]) => log.warn({ lib: 'slack-oauth' }, msg.map(String).join(' ')),
  setLevel: () => {},
  getLevel: () => 'info' as any,
  setName: () => {},
};

export function slackOAuthConfigured(): boolean {
  const e = env();
  return Boolean(e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET && e.SLACK_STATE_SECRET);
}

export function createInstallProvider(): InstallProvider {
  const e = env();
  return new InstallProvider({
    clientId: e.SLACK_CLIENT_ID!,
    clientSecret: e.SLACK_CLIENT_SECRET!,
    stateSecret: e.SLACK_STATE_SECRET!,
    installationStore: mongoInstallationStore,
    directInstall: true,
    clientOptions: { slackApiUrl: e.SLACK_API_URL },
    logger: oauthLogger,
  });
}

export function installUrlOptions(workspaceId: string) {
  return { scopes: SLACK_BOT_SCOPES, metadata: workspaceId, redirectUri: `${slackPublicUrl()}/slack/oauth_redirect` };
}
