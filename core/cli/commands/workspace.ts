// `pivotal workspace create|list`
import type { Command } from 'commander';
import { createWorkspace, listWorkspaces } from '../../workspaces/workspaces.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine, printTable } from '../output.ts';

export function registerWorkspaceCommands(program: Command): void {
  const ws = program.command('workspace').description('workspaces');
  jsonOption(
    ws
      .command('create')
      .description('create a workspace and print its id')
      .option('--name <name>', 'workspace name')
      .option('--timezone <tz>', 'IANA timezone for the nightly jobs', 'UTC'),
  ).action(async (opts: { name?: string; timezone: string; json?: boolean }) => {
    const name = requireOption(opts.name, '--name');
    await useDatabase();
    const w = await createWorkspace({ name, timezone: opts.timezone });
    if (opts.json) printJson({ id: String(w._id), name: w.name, slug: w.slug, timezone: w.timezone });
    else printLine(String(w._id));
  });
  jsonOption(ws.command('list').description('every workspace: id, name, slug, timezone')).action(async (opts: { json?: boolean }) => {
    await useDatabase();
    const rows = await listWorkspaces();
    if (opts.json) return printJson(rows);
    if (!rows.length) return printLine('No workspaces yet: create one with `pivotal workspace create --name NAME`.');
    printTable(rows, ['id', 'name', 'slug', 'timezone']);
  });
}
