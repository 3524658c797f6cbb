// `pivotal customers list|show`
import type { Command } from 'commander';
import { listCustomers } from '../../customers/customers.ts';
import { searchCustomers } from '../../customers/search.ts';
import { customerView, CUSTOMER_CSV_COLUMNS } from '../../customers/view.ts';
import { CUSTOMER_STATUSES } from '../../models/customer.ts';
import { getWorkspace } from '../../workspaces/workspaces.ts';
import { jsonOption, oneOf, requireOption, useDatabase } from '../runtime.ts';
import { CliExit, printCsv, printJson, printLine, printTable } from '../output.ts';
import { resolveOneCustomer } from '../../customers/resolve.ts';
import { setCustomerStatus, SETTABLE_STATUSES } from '../../customers/status.ts';
import { customerHistory, HISTORY_CSV_COLUMNS } from '../../activity/activity.ts';
import { csvNodeStream } from '../../customers/export.ts';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../errors.ts';

const money = (cents: number | null) => (cents == null ? '' : `$${(cents / 100).toLocaleString('en-US', { maximumFractionDigits: 0 })}`);

export function registerCustomerCommands(program: Command): void {
  const customers = program.command('customers').description('customers');

  jsonOption(
    customers
      .command('list')
      .description('customers with their synced and billing fields (churned and archived hidden unless --status)')
      .option('--workspace <id>', 'workspace id')
      .option('--status <status>', `${CUSTOMER_STATUSES.join(' | ')} | all`)
      .option('--format <format>', 'table | csv | json', 'table'),
  ).action(async (opts: { workspace?: string; status?: string; format: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const status = oneOf(opts.status, [...CUSTOMER_STATUSES, 'all'] as const, '--status');
    const format = oneOf(opts.format, ['table', 'csv', 'json'] as const, '--format')!;
    await useDatabase();
    const ws = await getWorkspace(workspaceId);
    const rows = (await listCustomers(ws._id, { status })).map(customerView);
    if (opts.json || format === 'json') return printJson(rows);
    if (format === 'csv') return printCsv(rows as unknown as Record<string, unknown>[], CUSTOMER_CSV_COLUMNS);
    if (rows.length === 0) return printLine('No customers.');
    printTable(
      rows.map((r) => ({ id: r.display_id, name: r.name, domain: r.domain, status: r.status, plan: r.plan, mrr: money(r.mrr), payment: r.payment_status, health: r.health_score, owner: r.owner_email })),
      ['id', 'name', 'domain', 'status', 'plan', 'mrr', 'payment', 'health', 'owner'],
    );
  });

  jsonOption(
    customers
      .command('show')
      .description('one customer, matched like /pivotal QUERY (display id, exact, prefix, typo-tolerant)')
      .argument('[query...]', 'name, domain, contact email or display id')
      .option('--workspace <id>', 'workspace id'),
  ).action(async (queryParts: string[], opts: { workspace?: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const query = requireOption(queryParts.join(' ').trim(), 'QUERY');
    await useDatabase();
    const ws = await getWorkspace(workspaceId);
    const result = await searchCustomers(ws._id, query);
    const views = result.customers.map(customerView);
    if (result.match === 'none') {
      const suggestions = result.suggestions.map(customerView);
      if (opts.json) printJson({ match: 'none', query, customers: [], suggestions });
      process.stderr.write(`error: no customer matches "${query}"${suggestions.length ? `; did you mean ${suggestions.map((s) => s.name).join(', ')}?` : ''}\n`);
      throw new CliExit(1);
    }
    if (views.length === 1) {
      const c = views[0]!;
      if (opts.json) return printJson({ match: result.match, ...c });
      printLine(`${c.name}  #${c.display_id}  (${c.status})`);
      for (const [k, v] of Object.entries({ domain: c.domain, plan: c.plan, mrr: money(c.mrr), payment: c.payment_status, health: c.health_score == null ? null : `${c.health_score} (${c.health_bucket})`, owner: c.owner_email, stripe: c.stripe_dashboard_url, 'last synced': c.last_synced_at })) {
        if (v != null && v !== '') printLine(`  ${k.padEnd(12)} ${v}`);
      }
      return;
    }
    if (opts.json) return printJson({ match: result.match, query, customers: views });
    printLine(`${views.length} customers match "${query}":`);
    for (const c of views) printLine(`  #${c.display_id}  ${c.name}${c.domain ? `  ${c.domain}` : ''}  (${c.status})`);
  });

  registerStatusCommand(customers);
  registerHistoryCommand(customers);
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function registerStatusCommand(customers: Command): void {
  jsonOption(
    customers
      .command('status')
      .description('sets a customer status like the Slack button (history, alerts, writeback)')
      .argument('[query...]', 'name, domain, contact email or display id')
      .option('--workspace <id>', 'workspace id')
      .option('--to <status>', SETTABLE_STATUSES.join(' | '))
      .option('--reason <text>', 'why (kept in the history and sent with alerts)')
      .option('--actor <email>', 'who made the change (a workspace member); default: the CLI'),
  ).action(async (queryParts: string[], opts: { workspace?: string; to?: string; reason?: string; actor?: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const query = requireOption(queryParts.join(' ').trim(), 'QUERY');
    const to = oneOf(requireOption(opts.to, '--to'), SETTABLE_STATUSES, '--to')!;
    if (opts.actor !== undefined && !EMAIL.test(opts.actor)) throw new AppError('bad_input', `--actor must be an email address (got "${opts.actor}")`);
    await useDatabase();
    const ws = await getWorkspace(workspaceId);
    const actorEmail = opts.actor?.trim().toLowerCase();
    if (actorEmail && !ws.members.some((m) => m.email === actorEmail)) throw new AppError('bad_input', `--actor ${actorEmail} is not a member of this workspace`);
    const customer = await resolveOneCustomer(ws._id, query);
    const res = await setCustomerStatus({
      workspaceId: ws._id,
      customerId: customer._id,
      status: to,
      reason: opts.reason ?? null,
      actor: actorEmail ? { type: 'user', id: actorEmail } : { type: 'api', id: 'cli' },
    });
    const view = customerView(res.customer);
    if (opts.json) return printJson({ changed: res.changed, previous: res.previous, status: res.status, customer: view });
    printLine(res.changed ? `${view.name} (#${view.display_id}): ${res.previous} → ${res.status}` : `${view.name} (#${view.display_id}) is already ${res.status}; nothing changed.`);
  });
}

function registerHistoryCommand(customers: Command): void {
  jsonOption(
    customers
      .command('history')
      .description('the activity history of one customer, oldest first (CSV columns as the portal history.csv)')
      .argument('[query...]', 'name, domain, contact email or display id')
      .option('--workspace <id>', 'workspace id')
      .option('--format <format>', 'table | csv | json', 'table'),
  ).action(async (queryParts: string[], opts: { workspace?: string; format: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const query = requireOption(queryParts.join(' ').trim(), 'QUERY');
    const format = opts.json ? 'json' : oneOf(opts.format, ['table', 'csv', 'json'] as const, '--format')!;
    await useDatabase();
    const ws = await getWorkspace(workspaceId);
    const customer = await resolveOneCustomer(ws._id, query);
    const rows = customerHistory(ws._id, customer._id);
    if (format === 'csv') {
      // streamed: a long history is never held in memory
      await pipeline(csvNodeStream(rows, HISTORY_CSV_COLUMNS), process.stdout, { end: false });
      return;
    }
    const all = [];
    for await (const r of rows) all.push(r);
    if (format === 'json') return printJson({ customer: { id: String(customer._id), display_id: customer.display_id, name: customer.name }, history: all });
    if (!all.length) return printLine('No history yet.');
    printTable(all, HISTORY_CSV_COLUMNS);
  });
}
