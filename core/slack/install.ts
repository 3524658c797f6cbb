// Multi-workspace Slack install (OAuth v2). A signed-in owner or admin opens the portal's
// /connect/slack, which records a one-use grant for their workspace and sends their
// browser to the bot's /slack/install with it; the bot uses the grant up (once, within 10
// minutes) and redirects to Slack's consent screen, binding the browser with @slack/oauth's
// state cookie. Slack's callback stores the installation encrypted in MongoDB, mapped to
// exactly that workspace, replacing the workspace's previous team. Teams linked with
// `pivotal slack link` live in the same collection.
import { InstallProvider, type Installation, type InstallationStore } from '@slack/oauth';
import { SlackInstallation } from '../models/slack.ts';
import { Workspace } from '../models/workspace.ts';
import { AuthGrant } from '../models/auth.ts';
import { decryptJson, encryptJson, encryptSecret, randomToken, sha256 } from '../crypto.ts';
import { env } from '../env.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import { parseObjectId } from '../workspaces/workspaces.ts';
import type { SignedInMember } from '../auth/login.ts';
import { clearInstallationCache } from './installations.ts';
import { unlinkOtherTeams } from './teams.ts';

export const SLACK_BOT_SCOPES = ['commands', 'chat:write', 'chat:write.public', 'channels:join', 'channels:read', 'groups:read', 'users:read', 'users:read.email', 'team:read'];
const INSTALL_GRANT_TTL_MS = 10 * 60_000;

/** Where Slack reaches the bot: SLACK_PUBLIC_URL, else APP_URL (with SLACK_PORT for localhost). */
export function slackPublicUrl(): string {
  const e = env();
  if (e.SLACK_PUBLIC_URL) return e.SLACK_PUBLIC_URL.replace(/\/$/, '');
  const u = new URL(e.APP_URL);
  if (u.hostname === 'localhost' || u.hostname === '127.0.0.1') u.port = String(e.SLACK_PORT);
  return u.origin;
}

/** Where an owner or admin starts the install: the portal, which knows who is signed in. */
export function slackInstallStartUrl(): string {
  return new URL('/connect/slack', env().APP_URL).toString();
}

/** A one-use link to the bot's /slack/install for this signed-in owner or admin's workspace. */
export async function createSlackInstallGrant(member: SignedInMember): Promise<string> {
  if (member.role !== 'owner' && member.role !== 'admin') throw new AppError('forbidden', 'Only a workspace owner or admin can install Slack');
  const id = parseObjectId(member.workspaceId, 'workspace');
  if (!(await Workspace.exists({ _id: id }))) throw new AppError('not_found', `No workspace with id ${member.workspaceId}`);
  const token = randomToken(32);
  await AuthGrant.create({ nonce_hash: sha256(token), kind: 'slack_install', workspace_id: id, email: member.email, expires_at: new Date(Date.now() + INSTALL_GRANT_TTL_MS) });
  return `${slackPublicUrl()}/slack/install?token=${token}`;
}

/** Uses an install link up (deleting its grant, so a second use finds nothing); returns its workspace id. */
export async function claimInstallToken(token: string | undefined): Promise<string> {
  if (!token || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw new AppError('unauthorized', 'This install link is not valid: start the install from the Pivotal portal');
  const grant = await AuthGrant.findOneAndDelete({ nonce_hash: sha256(token), kind: 'slack_install', expires_at: { $gt: new Date() } }).lean();
  if (!grant) throw new AppError('unauthorized', 'This install link expired or was already used: start the install again from the Pivotal portal');
  return String(grant.workspace_id);
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
    // One Slack team per workspace: a re-install into another team replaces the old one.
    await unlinkOtherTeams(workspaceId, teamId);
    clearInstallationCache(teamId);
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
