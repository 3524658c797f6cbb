// `pivotal webhooks add|list|deliveries|replay` as subprocesses: the secret shown once,
// the ping queued, private targets refused without --allow-private, bad ids one line.
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { WebhookEndpoint } from '../../core/models/webhooks.ts';

const db = useTestDatabase('webhooks_cli');
const cli = (args: string[]) => runCli(args, { MONGODB_URI: db.uri });
let workspaceId = '';

beforeAll(async () => {
  workspaceId = (await cli(['workspace', 'create', '--name', 'Hooks CLI', '--json'])).json().id;
});

describe('webhooks CLI', () => {
  it('adds, lists, shows deliveries and replays', async () => {
    const refused = await cli(['webhooks', 'add', '--workspace', workspaceId, '--url', 'http://127.0.0.1:4999/hook']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: .*private.*--allow-private/m);
    expect(await WebhookEndpoint.countDocuments({})).toBe(0);

    const add = await cli(['webhooks', 'add', '--workspace', workspaceId, '--url', 'http://127.0.0.1:4999/hook', '--events', 'customer.churned,customer.at_risk', '--allow-private', '--json']);
    expect(add.code, add.stderr).toBe(0);
    const ep = add.json();
    expect(ep).toMatchObject({ state: 'enabled', events: ['customer.churned', 'customer.at_risk'], allow_private: true });
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);

    const list = await cli(['webhooks', 'list', '--workspace', workspaceId, '--json']);
    expect(list.json()).toEqual([expect.objectContaining({ id: ep.id, consecutive_failures: 0 })]);
    expect(list.stdout).not.toContain(ep.secret);

    const deliveries = await cli(['webhooks', 'deliveries', '--endpoint', ep.id, '--json']);
    expect(deliveries.json()).toEqual([expect.objectContaining({ id: ep.ping_delivery_id, event_type: 'webhook.ping', status: 'pending' })]);

    const replay = await cli(['webhooks', 'replay', '--delivery', ep.ping_delivery_id, '--json']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.json()).toMatchObject({ event_type: 'webhook.ping', replay_of: ep.ping_delivery_id });

    for (const args of [['webhooks', 'replay', '--delivery', 'nope'], ['webhooks', 'deliveries', '--endpoint', ep.id, '--status', 'lost'], ['webhooks', 'add', '--workspace', workspaceId, '--url', 'https://example.com', '--events', 'bogus']]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    }
  });
});
