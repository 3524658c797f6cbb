// `pivotal sync validate|preview|full|incremental|status|errors` (CONTRACT.md).
import type { Command } from 'commander';
import { queueSync, runSync, RUN_KINDS, type RunKind } from '../../sync/engine.ts';
import { connectionStatus, getConnection } from '../../sync/connections.ts';
import { openSyncErrors, syncErrorRows, SYNC_ERROR_CSV_COLUMNS, COUNT_KEYS } from '../../sync/runs.ts';
import { jsonOption, oneOf, requireOption, useDatabase } from '../runtime.ts';
import { CliExit, printCsv, printJson, printLine, printTable } from '../output.ts';
import { registerConnectHubspot } from './connect-hubspot.ts';
import { workersAlive } from '../../jobs/heartbeat.ts';
import { SyncRun } from '../../models/sync.ts';
import { findOpenRun, runSummary, type RunSummary } from '../../sync/runs.ts';
import { Types } from 'mongoose';

/**
 * Queues the run for the worker and waits for its summary. The worker may continue a run
 * of this kind that is already open (left by a killed --wait, or a scheduled run) instead
 * of starting one, so that run counts too; and if the workers go away while we wait, the
 * run is finished here from its checkpoint rather than waited on forever.
 */
async function queueAndWait(connectionId: string, kind: RunKind): Promise<RunSummary> {
  const connection = new Types.ObjectId(connectionId);
  const open = kind === 'validate' || kind === 'preview' ? null : await findOpenRun(connection, kind);
  const since = new Date(Date.now() - 1000);
  await queueSync(connectionId, kind, 'cli');
  const ours = { connection_id: connection, kind, $or: [{ createdAt: { $gte: since } }, ...(open ? [{ _id: open._id }] : [])] };
  for (let polls = 1; ; polls++) {
    const run = await SyncRun.findOne(ours).sort({ createdAt: -1 }).lean();
    if (run && ['succeeded', 'failed', 'canceled'].includes(run.status)) return runSummary(run);
    // paused for a provider quota (not merely between worker slices): report it
    if (run?.status === 'paused' && Date.now() - new Date(run.updatedAt).getTime() > 30_000) return runSummary(run);
    if (polls % 10 === 0 && (await workersAlive()) === 0) return runSync({ connectionId, kind, trigger: 'cli' });
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function registerSyncCommands(program: Command): void {
  registerConnectHubspot(program);
  const sync = program.command('sync').description('sync a connected source');

  for (const kind of RUN_KINDS as RunKind[]) {
    jsonOption(
      sync
        .command(kind)
        .description(`${kind} sync (queued for the worker; --wait runs it here and prints the summary)`)
        .option('--connection <id>', 'connection id')
        .option('--wait', 'block until done and print the run summary'),
    ).action(async (opts: { connection?: string; wait?: boolean; json?: boolean }) => {
      const connectionId = requireOption(opts.connection, '--connection');
      await useDatabase();
      await getConnection(connectionId);
      if (!opts.wait) {
        const jobId = await queueSync(connectionId, kind, 'cli');
        if (opts.json) return printJson({ queued: true, job_id: jobId, connection_id: connectionId, kind });
        return printLine(`queued ${kind} sync (job ${jobId})`);
      }
      // A running worker takes the job (its slices interleave with other workspaces);
      // with none, the CLI does the work itself.
      const summary = (await workersAlive()) > 0 ? await queueAndWait(connectionId, kind) : await runSync({ connectionId, kind, trigger: 'cli' });
      if (opts.json) printJson(summary);
      else {
        printLine(`${kind} sync ${summary.status}${summary.message ? `: ${summary.message}` : ''}`);
        printLine(COUNT_KEYS.map((k) => `${k} ${summary.counts[k]}`).join(', '));
        if (kind === 'validate' && summary.problems?.length) printLine(`${summary.problems.length} problem records (see --json)`);
      }
      if (summary.status === 'failed') throw new CliExit(1);
    });
  }

  jsonOption(sync.command('status').description('connection state, last syncs, running job progress').option('--connection <id>', 'connection id')).action(
    async (opts: { connection?: string; json?: boolean }) => {
      const connectionId = requireOption(opts.connection, '--connection');
      await useDatabase();
      const s = await connectionStatus(connectionId);
      if (opts.json) return printJson(s);
      printLine(`${s.provider} (${s.role}): ${s.state}${s.state_reason ? ` (${s.state_reason})` : ''}`);
      printLine(`  last full sync         ${s.last_full_sync_at?.toISOString() ?? 'never'}`);
      printLine(`  last incremental update ${s.last_incremental_at?.toISOString() ?? 'never'}`);
      if (s.running) printLine(`  running: ${s.running.kind} ${s.running.progress?.done ?? 0}/${s.running.progress?.total ?? '?'}`);
      for (const w of s.warnings) printLine(`  warning: ${w}`);
    },
  );

  jsonOption(
    sync.command('errors').description('open (not ignored) sync errors').option('--connection <id>', 'connection id').option('--format <format>', 'table | csv | json', 'table'),
  ).action(async (opts: { connection?: string; format: string; json?: boolean }) => {
    const connectionId = requireOption(opts.connection, '--connection');
    const format = oneOf(opts.format, ['table', 'csv', 'json'] as const, '--format')!;
    await useDatabase();
    const conn = await getConnection(connectionId);
    const rows = syncErrorRows(await openSyncErrors(conn._id));
    if (opts.json || format === 'json') return printJson(rows);
    if (format === 'csv') return printCsv(rows, SYNC_ERROR_CSV_COLUMNS);
    if (rows.length === 0) return printLine('No open sync errors.');
    printTable(rows, ['object_type', 'record_id', 'code', 'message', 'attempts']);
  });
}
