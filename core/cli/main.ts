// The operator CLI (`npx pivotal …`), as promised in CONTRACT.md. This file lists every
// command group in help order and owns parsing, error rendering and exit codes.
import { Command, CommanderError } from 'commander';
import { registerWorkspaceCommands } from './commands/workspace.ts';
import { registerSlackCommands } from './commands/slack.ts';
import { registerCustomerCommands } from './commands/customers.ts';
import { registerAdminCommands } from './commands/admin.ts';
import { registerSyncCommands } from './commands/sync.ts';
import { registerConnectStripe } from './commands/connect-stripe.ts';
import { registerBillingCommands } from './commands/billing.ts';
import { registerHealthCommands } from './commands/health.ts';
import { registerWebhookCommands } from './commands/webhooks.ts';
import { registerConnectionCommands } from './commands/connections.ts';
import { registerDisconnectCommand } from './commands/disconnect.ts';
import { registerConnectSalesforce } from './commands/connect-salesforce.ts';
import { CliExit, errorLine, exitCodeFor } from './output.ts';
import { closeDatabase } from './runtime.ts';
import { compose } from '../app/composition.ts';

export function buildProgram(): Command {
  const program = new Command('pivotal')
    .description('Pivotal operator CLI')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      // Commander's own errors (unknown option, missing argument) become one line.
      outputError: (str, write) => write(`${str.trim().split('\n')[0]}\n`),
    });
  const groups = [
    registerWorkspaceCommands, registerSlackCommands, registerCustomerCommands, registerAdminCommands, registerSyncCommands,
    registerConnectStripe, registerBillingCommands, registerHealthCommands, registerWebhookCommands, registerConnectionCommands,
    registerDisconnectCommand, registerConnectSalesforce,
  ];
  for (const register of groups) register(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  compose();
  const program = buildProgram();
  // Every sub-command exits through exitOverride too.
  const applyOverride = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ outputError: (str, write) => write(`${str.trim().split('\n')[0]}\n`) });
    cmd.commands.forEach(applyOverride);
  };
  applyOverride(program);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CliExit) return e.exitCode;
    process.stderr.write(`${errorLine(e)}\n`);
    return exitCodeFor(e);
  } finally {
    await closeDatabase().catch(() => {});
  }
}

/** Resolves once everything written so far has left the process (a pipe may still be taking it). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) return resolve();
    stream.write('', () => resolve());
  });
}

if (process.env.PIVOTAL_CLI === '1') {
  const code = await runCli(process.argv.slice(2));
  // Exiting before a piped stdout drains cuts `--json` short; the exit itself is still
  // needed, since database and job-queue handles would keep the process alive.
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
