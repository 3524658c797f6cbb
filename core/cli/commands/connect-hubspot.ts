// `pivotal connect hubspot --workspace ID --token TOKEN`: connects HubSpot as the
// workspace's customer source with a private-app token.
import type { Command } from 'commander';
import { connectSource } from '../../sync/connections.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';
import { AppError } from '../../errors.ts';
import { verifyHubspotToken } from '../../connectors/hubspot/account.ts';
import { secretOption, SECRET_HELP } from '../secrets.ts';

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
      .option('--token <token>', `HubSpot private-app access token ${SECRET_HELP}`)
      .option('--portal-id <id>', 'optional: the HubSpot portal (hub) id, checked against the one the token belongs to'),
  ).action(async (opts: { workspace?: string; token?: string; portalId?: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const token = requireOption(await secretOption(opts.token, '--token'), '--token');
    if (opts.portalId !== undefined && !/^\d+$/.test(opts.portalId)) throw new AppError('bad_input', `--portal-id must be a number (got "${opts.portalId}")`);
    await useDatabase();
    // HubSpot says whether the token works, and which portal it belongs to (webhooks are routed by it).
    const { portalId } = await verifyHubspotToken(token);
    if (opts.portalId !== undefined && opts.portalId !== portalId) throw new AppError('bad_input', `The token belongs to HubSpot portal ${portalId}, not ${opts.portalId}`);
    const conn = await connectSource({ workspaceId, provider: 'hubspot', role: 'customer_source', authType: 'token', credentials: { accessToken: token }, externalAccountId: portalId });
    if (opts.json) printJson({ connection_id: String(conn._id), workspace_id: String(conn.workspace_id), provider: 'hubspot', portal_id: portalId, state: conn.state });
    else printLine(String(conn._id));
  });
}
