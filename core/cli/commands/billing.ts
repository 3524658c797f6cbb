// `pivotal billing ambiguous|resolve`: list the domains several Stripe customers claim,
// and settle one by picking the winning Stripe customer or splitting the Pivotal customer.
import type { Command } from 'commander';
import { resolveAmbiguousMatch } from '../../sync/billing-ambiguous.ts';
import { listAmbiguousMatches } from '../../sync/ambiguous-matches.ts';
import { getConnection } from '../../sync/connections.ts';
import { AppError } from '../../errors.ts';
import { jsonOption, oneOf, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';

export function registerBillingCommands(program: Command): void {
  const billing = program.command('billing').description('Stripe billing matches');
  jsonOption(
    billing
      .command('ambiguous')
      .description('domains claimed by several Stripe customers')
      .option('--connection <id>', 'Stripe connection id')
      .option('--status <status>', 'open | resolved | all', 'open'),
  ).action(async (opts: { connection?: string; status: string; json?: boolean }) => {
    const connectionId = requireOption(opts.connection, '--connection');
    const status = oneOf(opts.status, ['open', 'resolved', 'all'] as const, '--status')!;
    await useDatabase();
    await getConnection(connectionId);
    const rows = (await listAmbiguousMatches(connectionId, status)).map((m: any) => ({
      id: String(m._id),
      domain: m.domain,
      status: m.status,
      customer_id: m.customer_id ? String(m.customer_id) : null,
      candidates: m.candidates,
      resolution: m.resolution ?? null,
    }));
    if (opts.json) return printJson(rows);
    if (!rows.length) return printLine('No ambiguous matches.');
    for (const r of rows) printLine(`${r.id}  ${r.domain}  (${r.status})  ${(r.candidates as any[]).map((c) => c.stripe_customer_id ?? c).join(', ')}`);
  });

  jsonOption(
    billing
      .command('resolve')
      .description('settle an ambiguous match: --winner STRIPE_CUSTOMER_ID or --split')
      .option('--match <id>', 'ambiguous match id')
      .option('--winner <cus>', 'the Stripe customer whose billing the Pivotal customer keeps')
      .option('--split', 'give each Stripe customer its own Pivotal customer'),
  ).action(async (opts: { match?: string; winner?: string; split?: boolean; json?: boolean }) => {
    const id = requireOption(opts.match, '--match');
    if (Boolean(opts.winner) === Boolean(opts.split)) throw new AppError('bad_input', 'give exactly one of --winner STRIPE_CUSTOMER_ID or --split');
    await useDatabase();
    const result = await resolveAmbiguousMatch(opts.split ? { id, split: true } : { id, winner: opts.winner! });
    if (opts.json) return printJson(result ?? { id, resolved: true });
    printLine(`resolved ${id}`);
  });
}
