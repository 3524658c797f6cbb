// Resolving a Slack team to its bot token and Pivotal workspace (Bolt's authorize).
// A team that is not linked gets no data: the listeners answer "not connected".
import { SlackInstallation } from '../models/slack.ts';
import { decryptSecret } from '../crypto.ts';
import { env } from '../env.ts';

export interface TeamAuthorization {
  botToken?: string;
  botUserId?: string;
  teamId?: string;
  workspaceId?: string;
}

// authorize() sits on the path to Slack's 3-second ack, so a short per-process cache keeps
// a busy or slow database off that path. Staleness is bounded by the TTL (a revoked or
// relinked team is picked up within it); nothing another instance needs lives here.
const CACHE_TTL_MS = 30_000;
const installCache = new Map<string, { at: number; value: Promise<InstallLookup | null> }>();
type InstallLookup = { status: string; bot_token: string; bot_user_id?: string | null; workspace_id: unknown };

function lookup(teamId: string): Promise<InstallLookup | null> {
  return SlackInstallation.findOne({ team_id: teamId }, { status: 1, bot_token: 1, bot_user_id: 1, workspace_id: 1 }).lean().exec() as Promise<InstallLookup | null>;
}

function cachedInstall(teamId: string): Promise<InstallLookup | null> {
  const hit = installCache.get(teamId);
  if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.value;
  if (hit) {
    // Stale: answer from the cache and refresh behind it, so the ack never waits on a
    // busy database once a team has been seen.
    hit.at = Date.now();
    lookup(teamId).then(
      (fresh) => installCache.set(teamId, { at: Date.now(), value: Promise.resolve(fresh) }),
      () => {},
    );
    return hit.value;
  }
  const value = lookup(teamId);
  installCache.set(teamId, { at: Date.now(), value });
  value.catch(() => installCache.delete(teamId));
  if (installCache.size > 10_000) installCache.delete(installCache.keys().next().value!);
  return value;
}

/** Forget cached installations (after linking, unlinking or marking one broken in this process). */
export function clearInstallationCache(teamId?: string): void {
  if (teamId) installCache.delete(teamId);
  else installCache.clear();
}

export async function authorizeTeam(teamId: string | undefined, _enterpriseId?: string): Promise<TeamAuthorization> {
  const install = teamId ? await cachedInstall(teamId) : null;
  if (install && install.status === 'ok') {
    return { botToken: decryptSecret(install.bot_token), botUserId: install.bot_user_id ?? undefined, teamId, workspaceId: String(install.workspace_id) };
  }
  const single = env().SLACK_BOT_TOKEN;
  if (single) return { botToken: single, teamId };
  // No token for this team: still let the request through (without a client token) so
  // the listener can answer "not connected" over response_url instead of an error.
  return { teamId } as TeamAuthorization;
}

export async function workspaceIdForTeam(teamId: string | undefined): Promise<string | null> {
  if (!teamId) return null;
  const install = await cachedInstall(teamId);
  return install ? String(install.workspace_id) : null;
}
