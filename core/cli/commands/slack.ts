// `pivotal slack link`
import type { Command } from 'commander';
import { linkSlackTeam } from '../../slack/link.ts';
import { slackInstallStartUrl } from '../../slack/install.ts';
import { getWorkspace } from '../../workspaces/workspaces.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';
import { secretOption, SECRET_HELP } from '../secrets.ts';

export function registerSlackCommands(program: Command): void {
  const slack = program.command('slack').description('Slack');
  jsonOption(
    slack
      .command('link')
      .description('link a Slack team to a workspace without the OAuth install')
      .option('--workspace <id>', 'workspace id')
      .option('--team <teamId>', 'Slack team id (T…)')
      .option('--bot-token <xoxb>', `bot token (xoxb-…) ${SECRET_HELP}`)
      .option('--default-channel <channelId>', 'channel for alerts without a customer channel'),
  ).action(async (opts: { workspace?: string; team?: string; botToken?: string; defaultChannel?: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const teamId = requireOption(opts.team, '--team');
    const botToken = requireOption(await secretOption(opts.botToken, '--bot-token'), '--bot-token');
    await useDatabase();
    const r = await linkSlackTeam({ workspaceId, teamId, botToken, defaultChannelId: opts.defaultChannel, verifyToken: true });
    if (opts.json) printJson({ workspace_id: r.workspaceId, team_id: r.teamId, default_channel_id: r.defaultChannelId });
    else printLine(`Slack team ${r.teamId} linked to workspace ${r.workspaceId}${r.defaultChannelId ? ` (alerts default to ${r.defaultChannelId})` : ''}`);
  });

  jsonOption(
    slack
      .command('install-link')
      .description('print where an owner or admin of the workspace, signed in to the portal, installs the Slack app (OAuth)')
      .option('--workspace <id>', 'workspace id'),
  ).action(async (opts: { workspace?: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    await useDatabase();
    // The install is bound to a signed-in admin's session, so the CLI hands out no bearer link.
    await getWorkspace(workspaceId);
    const link = slackInstallStartUrl();
    if (opts.json) printJson({ workspace_id: workspaceId, link });
    else printLine(`Open ${link} while signed in to the portal as an owner or admin of workspace ${workspaceId}.`);
  });
}
