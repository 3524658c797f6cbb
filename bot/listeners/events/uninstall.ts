// Slack says the app is gone from a team (app_uninstalled) or its bot token was revoked
// (tokens_revoked): the team is unlinked from its workspace, so alerts stop using a dead
// token and an admin can install again.
import type { App } from '@slack/bolt';
import { unlinkTeam } from '../../../core/slack/teams.ts';
import { log } from '../../../core/log.ts';

const teamOf = (body: unknown) => (body as { team_id?: string }).team_id;

export function registerUninstallEvents(app: App): void {
  app.event('app_uninstalled', async ({ body }) => {
    const team = teamOf(body);
    if (team) await unlinkTeam(team, 'app_uninstalled').catch((err) => log.error({ err, team }, 'unlinking an uninstalled team failed'));
  });
  app.event('tokens_revoked', async ({ event, body }) => {
    // Revoked user tokens alone leave the bot working; only a revoked bot token unlinks.
    const team = teamOf(body);
    if (team && event.tokens.bot?.length) await unlinkTeam(team, 'tokens_revoked').catch((err) => log.error({ err, team }, 'unlinking a revoked team failed'));
  });
}
