// `pivotal connect hubspot --workspace ID --token TOKEN`: connects HubSpot as the
// workspace's customer source with a private-app token.
import type { Command } from 'commander';
import { connectSource } from '../../sync/connections.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';

/** The shared `connect` group (other providers add their sub-commands to it). */
export function connectGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'connect') ?? program.command('connect').description('connect a source');
}

export function registerConnectHubspot(program: Command): void {
  jsonOption(
    connectGroup(program)
      .command('hubspot')
      .description('connect HubSpot with a private-app token; prints the connection id')
      .option('--workspace <id>', 'workspace id')
      .option('--token <token>', 'HubSpot private-app access token')
      .option('--portal-id <id>', 'HubSpot portal (hub) id, to route webhooks to this connection'),
  ).action(async (opts: { workspace?: string; token?: string; portalId?: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const token = requireOption(opts.token, '--token');
    await useDatabase();
    const conn = await connectSource({ workspaceId, provider: 'hubspot', role: 'customer_source', authType: 'token', credentials: { accessToken: token }, externalAccountId: opts.portalId ?? null });
    if (opts.json) printJson({ connection_id: String(conn._id), workspace_id: String(conn.workspace_id), provider: 'hubspot', state: conn.state });
    else printLine(String(conn._id));
  });
}
