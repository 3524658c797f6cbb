// `pivotal health recompute`
import type { Command } from 'commander';
import { getWorkspace } from '../../workspaces/workspaces.ts';
import { recomputeWorkspaceHealth } from '../../health/recompute.ts';
import { enqueue } from '../../jobs/agenda.ts';
import { HEALTH_RECOMPUTE_JOB } from '../../health/jobs.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';

export function registerHealthCommands(program: Command): void {
  const health = program.command('health').description('customer health scores');
  jsonOption(
    health
      .command('recompute')
      .description("recomputes every customer's health score now (churned customers stay frozen)")
      .option('--workspace <id>', 'workspace id')
      .option('--wait', 'compute in this process and print the summary, instead of queueing it for the worker'),
  ).action(async (opts: { workspace?: string; wait?: boolean; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    await useDatabase();
    const ws = await getWorkspace(workspaceId);
    if (!opts.wait) {
      const jobId = await enqueue(HEALTH_RECOMPUTE_JOB, { workspace_id: String(ws._id), trigger: 'cli' });
      if (opts.json) return printJson({ queued: true, job_id: jobId, workspace_id: String(ws._id) });
      return printLine(`Queued health recompute (job ${jobId}); the worker runs it.`);
    }
    const summary = await recomputeWorkspaceHealth(ws._id);
    if (opts.json) return printJson(summary);
    printLine(`Scored ${summary.scored} customers (${summary.unscored} without any signal); ${summary.score_drops} score drops, ${summary.bucket_changes} bucket changes.`);
  });
}
