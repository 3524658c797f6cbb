// Issue 14 through signed Slack requests to the real bot, with customers synced from the
// HubSpot fake: the card and `/pivotal mine` show the source's owner even when that person
// is not a Pivotal member (item 15), and the card's Resync button re-reads the record in
// the source through a worker job (item 13).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { startFakeSlack, postToApp, slashCommandBody, blockActionsBody, type FakeSlack } from '../fakes/slack.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace, upsertMember } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { linkSlackTeam } from '../../core/slack/link.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { startJobProcessor } from '../../core/jobs/agenda.ts';
import '../../core/jobs/definitions.ts';
import { Customer } from '../../core/models/customer.ts';
import { startBot, type BotServer } from '../../bot/app.ts';

useTestDatabase('slack_resync_owner');

const SECRET = 'test-signing-secret-resync';
const TEAM = 'T0RESYNC01';
const TOKEN = 'xoxb-resync-team';
const OLIVIA = 'U0OLIVIA01'; // the workspace owner, a Pivotal member
const HANK = 'U0HANK0001'; // owns Acme in HubSpot, not a Pivotal member
const CHANNEL = 'C0RESYNC01';

let slack: FakeSlack;
let hubspot: FakeHubspot;
let bot: BotServer;
let events: string;
let acmeCompanyId = '';
const saved = { ...process.env };

async function slash(text: string, userId: string) {
  const responseUrl = slack.responseUrl({ teamId: TEAM, channelId: CHANNEL, userId });
  const res = await postToApp(events, SECRET, slashCommandBody({ teamId: TEAM, userId, channelId: CHANNEL, text, responseUrl, triggerId: slack.triggerId(TEAM, userId) }));
  expect(res.status).toBe(200);
  return (await slack.waitForResponse(responseUrl, 5000)).body as any;
}

async function click(actionId: string, value: string, userId = OLIVIA) {
  const responseUrl = slack.responseUrl({ teamId: TEAM, channelId: CHANNEL, userId });
  const res = await postToApp(events, SECRET, blockActionsBody({ teamId: TEAM, userId, channelId: CHANNEL, responseUrl, actions: [{ action_id: actionId, value }] }));
  expect(res.status).toBe(200);
  return (await slack.waitForResponse(responseUrl, 5000)).body as any;
}

const text = (body: any) => JSON.stringify(body.blocks ?? []) + String(body.text ?? '');

beforeAll(async () => {
  slack = await startFakeSlack();
  slack.addTeam({
    teamId: TEAM,
    botToken: TOKEN,
    users: [{ id: OLIVIA, name: 'olivia', email: 'olivia@acme-cs.test' }, { id: HANK, name: 'hank', email: 'hank@acme-sales.test' }],
    channels: [{ id: CHANNEL, name: 'cs', isMember: true }],
  });
  hubspot = await startFakeHubspot({ searchRateLimitPerSec: 0 });
  hubspot.addPrivateAppToken('pat-resync');
  const hank = hubspot.addOwner({ email: 'hank@acme-sales.test', firstName: 'Hank' });
  acmeCompanyId = hubspot.createCompany({ name: 'Acme', domain: 'acme.com', hubspot_owner_id: hank.id }).id;
  hubspot.createCompany({ name: 'Globex', domain: 'globex.com' });
  Object.assign(process.env, { SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: slack.apiUrl, SLACK_BOT_TOKEN: 'xoxb-fallback-token', HUBSPOT_API_BASE_URL: hubspot.url });
  delete process.env.SLACK_APP_TOKEN;
  resetEnvCache();

  const ws = await createWorkspace({ name: 'Resync Co' });
  await upsertMember(ws._id, { email: 'olivia@acme-cs.test', role: 'owner', name: 'Olivia' });
  await createCustomers(ws._id, [{ name: 'Hand Made', domain: 'handmade.test' }]);
  await linkSlackTeam({ workspaceId: String(ws._id), teamId: TEAM, botToken: TOKEN, defaultChannelId: CHANNEL });
  const conn = await connectSource({ workspaceId: String(ws._id), provider: 'hubspot', authType: 'token', credentials: { accessToken: 'pat-resync' } });
  expect((await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' })).status).toBe('succeeded');

  bot = await startBot({ port: 0, host: '127.0.0.1' });
  events = `${bot.url}/slack/events`;
});

afterAll(async () => {
  await bot?.stop();
  await slack?.close();
  await hubspot?.close();
  process.env = saved;
  resetEnvCache();
});

describe('the owner is the source’s owner (item 15)', () => {
  it('shows a HubSpot owner who is not a member on the card, and in their own /pivotal mine only', async () => {
    const card = await slash('acme.com', OLIVIA);
    expect(text(card)).toContain('hank@acme-sales.test');
    expect(text(card)).not.toContain('Olivia');
    const acme = await Customer.findOne({ domain: 'acme.com' }).lean();
    expect(acme).toMatchObject({ owner_email: 'hank@acme-sales.test', owner_member_id: null });

    expect(text(await slash('mine', HANK))).toContain('Acme');
    const olivias = text(await slash('mine', OLIVIA));
    expect(olivias).not.toContain('Acme');
    expect(olivias).toContain('Globex'); // no owner in HubSpot: the workspace owner looks after it
  });
});

describe('the card’s Resync (item 13)', () => {
  it('re-reads the customer from HubSpot through a worker job', async () => {
    const acme = (await Customer.findOne({ domain: 'acme.com' }).lean())!;
    hubspot.updateCompany(acmeCompanyId, { name: 'Acme Renamed' });
    const reply = await click('card_resync', String(acme._id));
    expect(text(reply)).toContain('Resync queued');
    const worker = await startJobProcessor({ name: 'resync-test', processEveryMs: 150 });
    try {
      await until(async () => (await Customer.findById(acme._id).lean())?.name === 'Acme Renamed', 20_000, 'the resync to rename Acme');
    } finally {
      await worker.stop({ drainMs: 2000 });
    }
  });

  it('says so when the customer has no source record to re-read', async () => {
    const handMade = (await Customer.findOne({ domain: 'handmade.test' }).lean())!;
    const reply = await click('card_resync', String(handMade._id));
    expect(text(reply)).toContain('not linked to a source record');
  });
});
