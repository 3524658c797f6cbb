// The real Bolt app (signature verification included) against the fake Slack: signed
// /pivotal commands find the right customer, data is escaped, unsigned or stale requests
// get 401, an unlinked team sees nothing, the card's buttons and modal change status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeSlack, postToApp, slashCommandBody, blockActionsBody, viewSubmissionBody, appHomeOpenedEvent, validateBlocks, type FakeSlack } from '../fakes/slack.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace, upsertMember } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { linkSlackTeam } from '../../core/slack/link.ts';
import { Customer } from '../../core/models/customer.ts';
import { Activity } from '../../core/models/activity.ts';
import { DomainEvent } from '../../core/models/events.ts';
import { Workspace } from '../../core/models/workspace.ts';
import { startBot, type BotServer } from '../../bot/app.ts';

useTestDatabase('slack_bot');

const SECRET = 'test-signing-secret-bot';
const TEAM = 'T0BOTTEAM1';
const OTHER_TEAM = 'T0UNLINKED';
const TOKEN = 'xoxb-bot-team-token';
const ALICE = 'U0ALICE001';
const CHANNEL = 'C0GENERAL1';

let fake: FakeSlack;
let bot: BotServer;
let events: string;
const saved = { ...process.env };

async function slash(text: string, opts: { teamId?: string } = {}) {
  const teamId = opts.teamId ?? TEAM;
  const responseUrl = fake.responseUrl({ teamId, channelId: CHANNEL, userId: ALICE });
  const res = await postToApp(events, SECRET, slashCommandBody({ teamId, userId: ALICE, channelId: CHANNEL, text, responseUrl, triggerId: fake.triggerId(teamId, ALICE) }));
  expect(res.status).toBe(200);
  const reply = await fake.waitForResponse(responseUrl, 5000);
  expect(reply.problems).toEqual([]);
  return { reply, body: reply.body as any, responseUrl };
}
const allText = (body: any) => JSON.stringify(body.blocks ?? []) + String(body.text ?? '');
/** Every string Slack parses as mrkdwn: mrkdwn text objects and the top-level fallback text. */
function mrkdwnTexts(body: any): string {
  const out: string[] = [String(body.text ?? '')];
  const walk = (v: any) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (v.type === 'mrkdwn' && typeof v.text === 'string') out.push(v.text);
      Object.values(v).forEach(walk);
    }
  };
  walk(body.blocks);
  return out.join('\n');
}
const header = (body: any) => body.blocks?.find((b: any) => b.type === 'header')?.text?.text;

beforeAll(async () => {
  fake = await startFakeSlack();
  fake.addTeam({ teamId: TEAM, botToken: TOKEN, users: [{ id: ALICE, name: 'alice', email: 'alice@csm.test' }], channels: [{ id: CHANNEL, name: 'general', isMember: true }] });
  fake.addTeam({ teamId: OTHER_TEAM, botToken: 'xoxb-other-team', users: [{ id: ALICE, name: 'alice', email: 'alice@other.test' }], channels: [{ id: CHANNEL, name: 'general', isMember: true }] });
  Object.assign(process.env, { SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: fake.apiUrl, SLACK_BOT_TOKEN: 'xoxb-fallback-token' });
  delete process.env.SLACK_APP_TOKEN;
  resetEnvCache();

  const ws = await createWorkspace({ name: 'Bot Co' });
  await upsertMember(ws._id, { email: 'alice@csm.test', role: 'member', name: 'Alice' });
  const wsDoc = await Workspace.findById(ws._id).lean();
  const alice = wsDoc!.members.find((m) => m.email === 'alice@csm.test')!;
  await createCustomers(ws._id, [
    { name: 'Globex Corporation', domain: 'globex.com', owner_member_id: alice._id, billing: { plan: 'Growth', mrr: 140000, payment_status: 'failing' } },
    { name: 'Initech', domain: 'initech.io', status: 'at_risk' },
    { name: 'Umbrella Health', domain: 'umbrella.example' },
    { name: 'Umbrella Logistics', domain: 'umbrella-logistics.example' },
    { name: '<!channel> *Acme*', domain: 'acme-evil.test' },
  ]);
  await linkSlackTeam({ workspaceId: String(ws._id), teamId: TEAM, botToken: TOKEN, defaultChannelId: CHANNEL });
  // Another workspace's customer with a similar name must never show up for TEAM.
  const other = await createWorkspace({ name: 'Other Co' });
  await createCustomers(other._id, [{ name: 'Globex Secret Division', domain: 'globex-secret.com' }]);

  bot = await startBot({ port: 0, host: '127.0.0.1' });
  events = `${bot.url}/slack/events`;
});

afterAll(async () => {
  await bot?.stop();
  await fake?.close();
  process.env = saved;
  resetEnvCache();
});

describe('/pivotal lookups', () => {
  it('finds a customer by exact name and shows the card', async () => {
    const { body } = await slash('Globex Corporation');
    expect(header(body)).toBe('Globex Corporation');
    expect(body.response_type).toBe('ephemeral');
    expect(allText(body)).toContain('Plan: Growth, MRR $1,400, payment failing');
    expect(allText(body)).toContain('Alice');
    expect(validateBlocks(body.blocks, 'message')).toEqual([]);
  });

  it('finds by prefix, typo and domain', async () => {
    expect(header((await slash('Glob')).body)).toBe('Globex Corporation');
    expect(header((await slash('globx corporation')).body)).toBe('Globex Corporation');
    expect(header((await slash('initech.io')).body)).toBe('Initech');
  });

  it('offers a pick list for several matches and a suggestion list for none', async () => {
    const many = (await slash('umbrella')).body;
    expect(allText(many)).toContain('Umbrella Health');
    expect(allText(many)).toContain('Umbrella Logistics');
    expect(header(many)).toBeUndefined();
    const none = (await slash('zzzqqq')).body;
    expect(allText(none)).toContain('No customer matches');
  });

  it('escapes data in mrkdwn', async () => {
    const { body } = await slash('acme-evil.test');
    // plain_text too: Slack reads &, <, > as markup in every text object
    expect(header(body)).toBe('&lt;!channel&gt; *Acme*');
    expect(JSON.stringify(body.blocks)).not.toContain('<!channel>');
    const text = mrkdwnTexts(body);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toContain('*Acme*');
  });

  it('answers sub-commands', async () => {
    expect(allText((await slash('help')).body)).toContain('/pivotal at-risk');
    expect(allText((await slash('at-risk')).body)).toContain('Initech');
    expect(allText((await slash('failing')).body)).toContain('Globex Corporation');
    const mine = allText((await slash('mine')).body);
    expect(mine).toContain('Globex Corporation');
    expect(mine).not.toContain('Initech');
  });

  it('tells an unlinked team it is not connected and shows no data', async () => {
    const { body } = await slash('Globex', { teamId: OTHER_TEAM });
    expect(allText(body)).toContain('not connected');
    expect(allText(body)).not.toContain('Globex');
  });

  it('rejects bad and stale signatures with 401', async () => {
    const responseUrl = fake.responseUrl({ teamId: TEAM });
    const body = slashCommandBody({ teamId: TEAM, userId: ALICE, channelId: CHANNEL, text: 'Globex', responseUrl });
    expect((await postToApp(events, 'wrong-secret', body)).status).toBe(401);
    expect((await postToApp(events, SECRET, body, undefined, { timestampSec: Math.floor(Date.now() / 1000) - 60 * 10 })).status).toBe(401);
    expect(fake.responses(responseUrl)).toEqual([]);
  });
});

describe('card actions', () => {
  it('shares in channel and marks at risk through the reason modal', async () => {
    const globex = (await Customer.findOne({ name: 'Globex Corporation' }).lean())!;
    const responseUrl = fake.responseUrl({ teamId: TEAM, channelId: CHANNEL, userId: ALICE });
    const share = await postToApp(events, SECRET, blockActionsBody({ teamId: TEAM, userId: ALICE, channelId: CHANNEL, responseUrl, actions: [{ action_id: 'card_share', value: String(globex._id) }] }));
    expect(share.status).toBe(200);
    const shared = await fake.waitForResponse(responseUrl, 5000);
    expect((shared.body as any).response_type).toBe('in_channel');
    expect(JSON.stringify((shared.body as any).blocks)).not.toContain('card_status_at_risk');

    const click = await postToApp(events, SECRET, blockActionsBody({ teamId: TEAM, userId: ALICE, channelId: CHANNEL, responseUrl, triggerId: fake.triggerId(TEAM, ALICE), actions: [{ action_id: 'card_status_at_risk', value: String(globex._id) }] }));
    expect(click.status).toBe(200);
    await fake.waitForCall('views.open', { timeoutMs: 5000 });
    const modal = fake.modals(ALICE).at(-1)!;
    const submit = await postToApp(events, SECRET, viewSubmissionBody({ teamId: TEAM, userId: ALICE, view: modal.view, values: { reason_block: { reason_input: { type: 'plain_text_input', value: 'Champion left' } } } }));
    expect(submit.status).toBe(200);
    const after = (await Customer.findById(globex._id).lean())!;
    expect(after.status).toBe('at_risk');
    expect(after.status_reason).toBe('Champion left');
    expect(await Activity.countDocuments({ customer_id: globex._id, field: 'status', new_value: 'at_risk', actor_type: 'slack_user' })).toBe(1);
    expect((await DomainEvent.find({ customer_id: globex._id }).lean()).map((e) => e.type).sort()).toEqual(['customer.at_risk', 'customer.status_changed']);
  });

  it('refuses a customer id from another workspace', async () => {
    const secret = (await Customer.findOne({ name: 'Globex Secret Division' }).lean())!;
    const responseUrl = fake.responseUrl({ teamId: TEAM, channelId: CHANNEL, userId: ALICE });
    await postToApp(events, SECRET, blockActionsBody({ teamId: TEAM, userId: ALICE, channelId: CHANNEL, responseUrl, actions: [{ action_id: 'card_pick:0', value: String(secret._id) }] }));
    const reply = await fake.waitForResponse(responseUrl, 5000);
    expect(JSON.stringify(reply.body)).not.toContain('Secret');
  });
});

describe('App Home', () => {
  it("publishes the user's book", async () => {
    const res = await postToApp(events, SECRET, appHomeOpenedEvent({ teamId: TEAM, userId: ALICE }));
    expect(res.status).toBe(200);
    await fake.waitForCall('views.publish', { timeoutMs: 5000 });
    const home = fake.homeView(ALICE, TEAM)!;
    expect(JSON.stringify(home.view)).toContain('Globex Corporation');
    expect(JSON.stringify(home.view)).not.toContain('Umbrella');
  });
});
