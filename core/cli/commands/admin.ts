// `pivotal admin invite`
import type { Command } from 'commander';
import { inviteMember } from '../../auth/login.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('portal members');
  jsonOption(
    admin
      .command('invite')
      .description('add a member and print a one-time sign-in link (24 h)')
      .option('--workspace <id>', 'workspace id')
      .option('--email <email>', 'member email')
      .option('--role <role>', 'owner | admin | member (default: admin for a new member; an existing member keeps their role)')
      .option('--transfer-ownership', 'with --role owner: the current owner becomes an admin'),
  ).action(async (opts: { workspace?: string; email?: string; role?: string; transferOwnership?: boolean; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const email = requireOption(opts.email, '--email');
    await useDatabase();
    const r = await inviteMember({ workspaceId, email, role: opts.role, transferOwnership: opts.transferOwnership });
    if (opts.json) {
      printJson({ link: r.link, workspace_id: r.workspaceId, email: r.email, role: r.role, previous_role: r.previousRole, changes: r.changes, expires_at: r.expiresAt.toISOString() });
    } else {
      // stdout stays the link alone (scripts capture it); what changed goes to stderr.
      for (const change of r.changes) process.stderr.write(`note: ${change}\n`);
      printLine(r.link);
    }
  });
}
