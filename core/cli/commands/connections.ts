// `pivotal connections list|filter`, `pivotal mapping show|set` and `pivotal sync ignore|retry`
// (CONTRACT.md, second round; `connections filter` an addition): the same core functions the
// portal's connection screens use.
import fs from 'node:fs';
import type { Command } from 'commander';
import { listConnections, ignoreErrors, retryError } from '../../sync/connection-views.ts';
import { mappingView, saveMapping } from '../../sync/mapping-editor.ts';
import { saveSourceFilter } from '../../sync/connection-settings.ts';
import { getConnection } from '../../sync/connections.ts';
import { getWorkspace } from '../../workspaces/workspaces.ts';
import { AppError } from '../../errors.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { CliExit, printJson, printLine, printTable } from '../output.ts';

function readMappingFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new AppError('bad_input', `--file: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError('bad_input', `--file: ${file} is not JSON (${(e as Error).message})`);
  }
}

function printMapping(view: Awaited<ReturnType<typeof mappingView>>): void {
  printLine(`match key: ${view.match_key}${view.locked ? ' (locked: the first full sync has run)' : ''}${view.is_default ? ' · default mapping' : ''}`);
  printTable(view.mapping.map((m) => ({ target: m.target, source: m.source, type: m.type ?? '' })), ['target', 'source', 'type']);
  printLine();
  if (view.properties_error) printLine(`source properties unavailable: ${view.properties_error}`);
  else printTable(view.properties.map((p) => ({ name: p.name, label: p.label, type: p.type })), ['name', 'label', 'type']);
}

export function registerConnectionCommands(program: Command): void {
  const connections = program.command('connections').description("a workspace's connections");
  jsonOption(connections.command('list').description('id, provider, role, mode, state, last full sync, last incremental update').option('--workspace <id>', 'workspace id')).action(
    async (opts: { workspace?: string; json?: boolean }) => {
      const workspaceId = requireOption(opts.workspace, '--workspace');
      await useDatabase();
      await getWorkspace(workspaceId);
      const rows = await listConnections(workspaceId);
      if (opts.json) return printJson(rows.map(({ label: _label, ...r }) => r));
      if (!rows.length) return printLine('No connections yet: connect one with `pivotal connect hubspot|stripe …` or from the portal.');
      printTable(rows, ['id', 'provider', 'role', 'mode', 'state', 'last_full_sync_at', 'last_incremental_at']);
    },
  );

  jsonOption(
    connections
      .command('filter')
      .description('set the source filter (Salesforce field conditions, JSON) after checking it against the source; nothing saved if it fails')
      .option('--connection <id>', 'connection id')
      .option('--set <json>', 'e.g. \'[{"field":"Type","operator":"in","value":["Customer - Direct"]}]\'')
      .option('--clear', 'remove the filter: every record counts'),
  ).action(async (opts: { connection?: string; set?: string; clear?: boolean; json?: boolean }) => {
    const connectionId = requireOption(opts.connection, '--connection');
    if ((opts.set === undefined) === !opts.clear) throw new AppError('bad_input', 'give exactly one of --set JSON or --clear');
    let filter: unknown = null;
    if (opts.set !== undefined) {
      try {
        filter = JSON.parse(opts.set);
      } catch (e) {
        throw new AppError('bad_input', `--set is not JSON (${(e as Error).message})`);
      }
    }
    await useDatabase();
    const saved = await saveSourceFilter(await getConnection(connectionId), filter);
    if (opts.json) return printJson({ connection_id: connectionId, filter: saved });
    printLine(saved ? 'saved: the next sync uses the new filter' : 'cleared: every record counts');
  });

  const mapping = program.command('mapping').description("a connection's field mapping");
  jsonOption(mapping.command('show').description("the field mapping and the source's real properties").option('--connection <id>', 'connection id')).action(
    async (opts: { connection?: string; json?: boolean }) => {
      const connectionId = requireOption(opts.connection, '--connection');
      await useDatabase();
      const view = await mappingView(connectionId);
      if (opts.json) return printJson(view);
      printMapping(view);
    },
  );
  jsonOption(
    mapping
      .command('set')
      .description('replace the mapping from a JSON file (the shape `mapping show --json` prints); nothing saved if any entry is invalid')
      .option('--connection <id>', 'connection id')
      .option('--file <file>', 'JSON file with {"mapping": [{"target", "source", "type"?}], "match_key"?}'),
  ).action(async (opts: { connection?: string; file?: string; json?: boolean }) => {
    const connectionId = requireOption(opts.connection, '--connection');
    const body = readMappingFile(requireOption(opts.file, '--file'));
    await useDatabase();
    const view = await saveMapping(connectionId, body);
    if (opts.json) return printJson(view);
    printLine(`saved ${view.mapping.length} mapped properties`);
  });

  const sync = program.commands.find((c) => c.name() === 'sync') ?? program.command('sync');
  jsonOption(
    sync
      .command('ignore')
      .description('ignore open sync errors until the record changes in the source')
      .option('--connection <id>', 'connection id')
      .option('--error <id>', 'one error id (see `sync errors --json`)')
      .option('--all', 'every open error'),
  ).action(async (opts: { connection?: string; error?: string; all?: boolean; json?: boolean }) => {
    const connectionId = requireOption(opts.connection, '--connection');
    if (!!opts.error === !!opts.all) throw new AppError('bad_input', 'give exactly one of --error ID or --all');
    await useDatabase();
    const conn = await getConnection(connectionId);
    const ignored = await ignoreErrors(conn._id, opts.all ? { all: true } : { errorId: opts.error! });
    if (opts.json) return printJson({ connection_id: connectionId, ignored });
    printLine(`ignored ${ignored} error${ignored === 1 ? '' : 's'}`);
  });
  jsonOption(
    sync
      .command('retry')
      .description('re-run the one record behind a sync error')
      .option('--connection <id>', 'connection id')
      .option('--error <id>', 'error id (see `sync errors --json`)')
      .option('--wait', 'accepted for symmetry: the retry always runs here and waits'),
  ).action(async (opts: { connection?: string; error?: string; json?: boolean }) => {
    const connectionId = requireOption(opts.connection, '--connection');
    const errorId = requireOption(opts.error, '--error');
    await useDatabase();
    const conn = await getConnection(connectionId);
    const r = await retryError(conn._id, errorId);
    if (opts.json) printJson({ fixed: r.fixed, run: r.summary, error: r.error });
    else printLine(r.fixed ? 'retried: the record synced and its error is closed' : `retried: still failing: ${r.error?.message ?? r.summary.message ?? ''}`);
    if (r.summary.status === 'failed') throw new CliExit(1);
  });
}
