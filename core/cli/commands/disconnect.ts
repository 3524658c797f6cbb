// `pivotal disconnect --connection ID`: the connection becomes `disconnected`, its
// credentials are erased and its field mapping kept; the workspace may connect again.
import type { Command } from 'commander';
import { disconnect, getConnection } from '../../sync/connections.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';

export function registerDisconnectCommand(program: Command): void {
  jsonOption(
    program
      .command('disconnect')
      .description('disconnect a source: credentials erased, field mapping kept, schedules stopped')
      .option('--connection <id>', 'connection id'),
  ).action(async (opts: { connection?: string; json?: boolean }) => {
    const connectionId = requireOption(opts.connection, '--connection');
    await useDatabase();
    const before = await getConnection(connectionId);
    const conn = before.state === 'disconnected' ? before : await disconnect(connectionId);
    const result = {
      connection_id: String(conn._id),
      workspace_id: String(conn.workspace_id),
      provider: conn.provider,
      role: conn.role,
      state: conn.state,
      already_disconnected: before.state === 'disconnected',
      field_mapping_kept: Array.isArray(conn.field_mapping) && conn.field_mapping.length > 0,
    };
    if (opts.json) return printJson(result);
    printLine(`${conn.provider} connection ${result.connection_id} ${result.already_disconnected ? 'was already' : 'is now'} disconnected; its credentials are erased${result.field_mapping_kept ? ' and its field mapping kept' : ''}.`);
  });
}
