// `pivotal webhooks add|list|deliveries|replay`
import type { Command } from 'commander';
import { getWorkspace } from '../../workspaces/workspaces.ts';
import { createEndpoint, DELIVERY_STATUSES, listDeliveries, listEndpoints, replayDelivery, replayFailedSince } from '../../webhooks/endpoints.ts';
import { AppError } from '../../errors.ts';
import { jsonOption, oneOf, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine, printTable } from '../output.ts';

export function registerWebhookCommands(program: Command): void {
  const webhooks = program.command('webhooks').description('outbound webhooks');

  jsonOption(
    webhooks
      .command('add')
      .description('creates an outbound endpoint, prints its id and signing secret (shown once) and sends webhook.ping')
      .option('--workspace <id>', 'workspace id')
      .option('--url <url>', 'https:// URL that receives the events')
      .option('--events <list>', 'comma-separated event types (default: all)')
      .option('--test', 'a test-mode endpoint (events carry livemode: false)')
      .option('--allow-private', 'allow private, loopback and link-local targets (development receivers)'),
  ).action(async (opts: { workspace?: string; url?: string; events?: string; test?: boolean; allowPrivate?: boolean; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const url = requireOption(opts.url, '--url');
    await useDatabase();
    const ws = await getWorkspace(workspaceId);
    const events = opts.events === undefined ? [] : opts.events.split(',').map((e) => e.trim()).filter(Boolean);
    const res = await createEndpoint({ workspaceId: ws._id, url, events, allowPrivate: !!opts.allowPrivate, livemode: !opts.test, createdBy: 'cli' });
    if (opts.json) return printJson({ ...res.endpoint, secret: res.secret, ping_delivery_id: res.ping_delivery_id });
    printLine(`Endpoint ${res.endpoint.id} → ${res.endpoint.url}`);
    printLine(`Signing secret (shown once): ${res.secret}`);
    printLine('A webhook.ping is on its way.');
  });

  jsonOption(webhooks.command('list').description('endpoints with state and consecutive failures').option('--workspace <id>', 'workspace id')).action(async (opts: { workspace?: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    await useDatabase();
    const rows = await listEndpoints((await getWorkspace(workspaceId))._id);
    if (opts.json) return printJson(rows);
    if (!rows.length) return printLine('No webhook endpoints.');
    printTable(rows.map((r) => ({ ...r, events: r.events.length ? r.events.join(',') : 'all', mode: r.livemode ? 'live' : 'test', failures: r.consecutive_failures })), ['id', 'url', 'state', 'failures', 'mode', 'events']);
  });

  jsonOption(
    webhooks
      .command('deliveries')
      .description('deliveries with attempts and last response, newest first')
      .option('--endpoint <id>', 'endpoint id')
      .option('--status <status>', DELIVERY_STATUSES.join(' | '))
      .option('--limit <n>', 'at most this many (default 100)'),
  ).action(async (opts: { endpoint?: string; status?: string; limit?: string; json?: boolean }) => {
    const endpointId = requireOption(opts.endpoint, '--endpoint');
    const status = oneOf(opts.status, DELIVERY_STATUSES, '--status');
    const limit = opts.limit === undefined ? 100 : Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new AppError('bad_input', '--limit must be a whole number from 1 to 10000');
    await useDatabase();
    const rows = await listDeliveries(endpointId, { status, limit });
    if (opts.json) return printJson(rows);
    if (!rows.length) return printLine('No deliveries.');
    printTable(rows.map((r) => ({ ...r, last: r.last_status_code ?? r.last_error ?? '' })), ['id', 'event_type', 'event_id', 'status', 'attempts', 'last', 'created_at']);
  });

  jsonOption(
    webhooks
      .command('replay')
      .description('sends a delivery again (same event id), or every failed delivery of an endpoint since a date')
      .option('--delivery <id>', 'delivery id')
      .option('--endpoint <id>', 'with --failed-since: the endpoint')
      .option('--failed-since <iso date>', 'replay every failed delivery created since then'),
  ).action(async (opts: { delivery?: string; endpoint?: string; failedSince?: string; json?: boolean }) => {
    if (opts.failedSince !== undefined) {
      const endpointId = requireOption(opts.endpoint, '--endpoint');
      const since = new Date(opts.failedSince);
      if (Number.isNaN(since.getTime())) throw new AppError('bad_input', `--failed-since must be a date such as 2026-01-31 (got "${opts.failedSince}")`);
      await useDatabase();
      const n = await replayFailedSince(endpointId, since);
      return opts.json ? printJson({ replayed: n }) : printLine(`Replaying ${n} failed deliveries.`);
    }
    const deliveryId = requireOption(opts.delivery, '--delivery');
    await useDatabase();
    const d = await replayDelivery(deliveryId);
    if (opts.json) return printJson(d);
    printLine(`Replaying ${d.event_type} ${d.event_id} as delivery ${d.id}.`);
  });
}
