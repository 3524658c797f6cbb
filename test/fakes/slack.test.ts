// Exercises the Slack fake through the real @slack/web-api WebClient (and raw fetch for JSON bodies
// and response_urls), so the fake is held to what the client actually sends and how it reacts.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient, WebClientEvent, ErrorCode, LogLevel } from '@slack/web-api';
import type { Logger, WebAPIPlatformError } from '@slack/web-api';
import { isValidSlackRequest } from '@slack/bolt';
import {
  appHomeOpenedEvent, blockActionsBody, postToApp, signSlackRequest, slashCommandBody, startFakeSlack,
  validateBlocks, validateView, viewSubmissionBody,
} from './slack.ts';
import type { FakeSlack } from './slack.ts';

const TOKEN = 'xoxb-1111-2222-faketoken';
const TEAM = 'T0PIVOTAL1';
const BOT = 'U0PIVOTBOT';
const ALICE = 'U0ALICE001';
const BOB = 'U0BOB00001';
// Fast retries so tests never sit in WebClient's default ~30-minute backoff.
const fastRetry = { retries: 3, minTimeout: 0, maxTimeout: 1 };
// WebClient logs every "[ERROR] …" line of response_metadata.messages; the rejections here are on purpose.
const quiet: Logger = {
  debug: () => {}, info: () => {}, warn: () => {}, error: () => {},
  setLevel: () => {}, getLevel: () => LogLevel.ERROR, setName: () => {},
};

let fake: FakeSlack;
let client: WebClient;

async function platformError(p: Promise<unknown>): Promise<WebAPIPlatformError> {
  try {
    await p;
  } catch (e) {
    return e as WebAPIPlatformError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  fake = await startFakeSlack();
  fake.addTeam({
    teamId: TEAM,
    botToken: TOKEN,
    botUserId: BOT,
    name: 'Acme',
    domain: 'acme',
    users: [
      { id: ALICE, name: 'alice', email: 'Alice@Acme.test', tz: 'Europe/Paris' },
      { id: BOB, name: 'bob', email: 'bob@acme.test' },
    ],
    channels: [
      { id: 'C0GENERAL1', name: 'general', isMember: true },
      { id: 'C0SALES001', name: 'sales' },
      { id: 'C0OLD00001', name: 'old', isArchived: true },
      { id: 'C0ALICEONL', name: 'alice-only', isMember: true, members: [ALICE] },
      { id: 'G0SECRET01', name: 'secret' },
      { id: 'G0PRIVIN01', name: 'priv-in', isMember: true },
    ],
  });
  client = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: fastRetry, logger: quiet });
});

afterAll(async () => {
  await fake.close();
});

describe('transport: form (WebClient) and JSON bodies', () => {
  it('serves auth.test to WebClient over form encoding with the Bearer header', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({ ok: true, team_id: TEAM, user_id: BOT, url: 'https://acme.slack.com/' });
    // The fake's X-OAuth-Scopes header surfaces through WebClient like Slack's does.
    expect(res.response_metadata?.scopes).toContain('chat:write');
    const call = fake.callsTo('auth.test').at(-1)!;
    expect(call).toMatchObject({ token: TOKEN, contentType: 'form', status: 200 });
  });

  it('decodes blocks that WebClient sends as a JSON string inside the form', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Health* dropped' } }];
    const res = await client.chat.postMessage({ channel: 'C0GENERAL1', text: 'Health dropped', blocks });
    expect(res.ok).toBe(true);
    expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);
    const call = fake.callsTo('chat.postMessage').at(-1)!;
    expect(call.args.blocks).toEqual(blocks);
    expect(fake.messages('C0GENERAL1').at(-1)).toMatchObject({ ts: res.ts, text: 'Health dropped', blocks, user: BOT });
  });

  it('accepts application/json with a Bearer token, and ignores a token inside a JSON body', async () => {
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${fake.apiUrl}chat.postMessage`, { method: 'POST', headers, body: JSON.stringify(body) }).then((r) => r.json());
    const blocks = [{ type: 'divider' }, { type: 'header', text: { type: 'plain_text', text: 'Renewals' } }];
    const ok = await post(
      { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${TOKEN}` },
      { channel: 'C0GENERAL1', text: 'Renewals', blocks },
    );
    expect(ok).toMatchObject({ ok: true, channel: 'C0GENERAL1' });
    expect(fake.messages('C0GENERAL1').at(-1)?.blocks).toEqual(blocks);
    expect(fake.callsTo('chat.postMessage').at(-1)?.contentType).toBe('json');

    const noCharset = await post({ 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` }, { channel: 'C0GENERAL1', text: 'x' });
    expect(noCharset).toMatchObject({ ok: true, warning: 'missing_charset', response_metadata: { warnings: ['missing_charset'] } });

    const tokenInBody = await post({ 'Content-Type': 'application/json; charset=utf-8' }, { token: TOKEN, channel: 'C0GENERAL1', text: 'x' });
    expect(tokenInBody).toEqual({ ok: false, error: 'not_authed' });
  });

  it('answers unknown methods like Slack', async () => {
    const err = await platformError(client.apiCall('chat.postMesage', { channel: 'C0GENERAL1', text: 'x' }));
    expect(err.data).toMatchObject({ ok: false, error: 'unknown_method' });
  });
});

describe('auth errors', () => {
  it('rejects unknown, missing and revoked tokens', async () => {
    const bad = new WebClient('xoxb-not-a-real-token', { slackApiUrl: fake.apiUrl, retryConfig: fastRetry, logger: quiet });
    const err = await platformError(bad.auth.test());
    expect(err.code).toBe(ErrorCode.PlatformError);
    expect(err.data.error).toBe('invalid_auth');

    const none = new WebClient(undefined, { slackApiUrl: fake.apiUrl, retryConfig: fastRetry, logger: quiet });
    expect((await platformError(none.auth.test())).data.error).toBe('not_authed');

    fake.addTeam({ teamId: 'T0GONE0001', botToken: 'xoxb-gone' });
    const gone = new WebClient('xoxb-gone', { slackApiUrl: fake.apiUrl, retryConfig: fastRetry, logger: quiet });
    await expect(gone.auth.test()).resolves.toMatchObject({ ok: true });
    fake.revokeToken('xoxb-gone');
    expect((await platformError(gone.auth.test())).data.error).toBe('token_revoked');
    fake.revokeToken('xoxb-gone', 'invalid_auth');
    expect((await platformError(gone.auth.test())).data.error).toBe('invalid_auth');
  });

  it('reports missing_scope with needed/provided', async () => {
    fake.addTeam({ teamId: 'T0NOSCOPE1', botToken: 'xoxb-noscope', scopes: ['chat:write'], users: [{ id: 'U0X', name: 'x', email: 'x@x.test' }] });
    const c = new WebClient('xoxb-noscope', { slackApiUrl: fake.apiUrl, retryConfig: fastRetry, logger: quiet });
    const err = await platformError(c.users.lookupByEmail({ email: 'x@x.test' }));
    expect(err.data).toMatchObject({ error: 'missing_scope', needed: 'users:read.email', provided: 'chat:write' });
  });
});

describe('rate limits', () => {
  it('sends 429 + Retry-After; WebClient waits that long, then retries and succeeds', async () => {
    fake.rateLimit('users.info', { times: 1, retryAfterSec: 1 });
    const seen: number[] = [];
    client.on(WebClientEvent.RATE_LIMITED, (sec: number) => seen.push(sec));
    const before = fake.callsTo('users.info').length;
    const res = await client.users.info({ user: ALICE });
    client.removeAllListeners(WebClientEvent.RATE_LIMITED);
    expect(res.user?.id).toBe(ALICE);
    expect(seen).toEqual([1]);
    const attempts = fake.callsTo('users.info').slice(before);
    expect(attempts.map((c) => c.status)).toEqual([429, 200]);
    expect(attempts[0]!.response).toEqual({ ok: false, error: 'ratelimited' });
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('surfaces WebAPIRateLimitedError with rejectRateLimitedCalls', async () => {
    fake.rateLimit('chat.postMessage', { times: 1, retryAfterSec: 30 });
    const c = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, rejectRateLimitedCalls: true, logger: quiet });
    const err = (await platformError(c.chat.postMessage({ channel: 'C0GENERAL1', text: 'x' }))) as unknown as { code: string; retryAfter: number };
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(30);
  });

  it('gives up with a request error once retryConfig is exhausted', async () => {
    fake.rateLimit('team.info', { times: 5, retryAfterSec: 0 });
    const c = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 2, minTimeout: 0, maxTimeout: 1 }, logger: quiet });
    const before = fake.callsTo('team.info').length;
    const err = (await platformError(c.team.info())) as unknown as { code: string; message: string };
    expect(err.code).toBe(ErrorCode.RequestError);
    expect(err.message).toMatch(/rate limit was exceeded/);
    expect(fake.callsTo('team.info').length - before).toBe(3);
    await expect(c.team.info()).resolves.toMatchObject({ team: { id: TEAM, domain: 'acme' } }); // 2 limited calls remain…
  });
});

describe('HTTP failures', () => {
  it('WebClient retries a bare 5xx (WebAPIHTTPError is not an AbortError)', async () => {
    fake.failHttp('auth.test', { times: 1, status: 503 });
    const before = fake.callsTo('auth.test').length;
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    expect(fake.callsTo('auth.test').slice(before).map((c) => c.status)).toEqual([503, 200]);
  });
});

describe('channels and membership', () => {
  it('not_in_channel, then conversations.join, then the post succeeds', async () => {
    const err = await platformError(client.chat.postMessage({ channel: 'C0SALES001', text: 'hi' }));
    expect(err.data.error).toBe('not_in_channel');
    const joined = await client.conversations.join({ channel: 'C0SALES001' });
    expect(joined.channel).toMatchObject({ id: 'C0SALES001', is_member: true, is_private: false });
    expect(fake.joinedChannels(TEAM)).toContain('C0SALES001');
    await expect(client.chat.postMessage({ channel: 'C0SALES001', text: 'hi' })).resolves.toMatchObject({ ok: true });
    expect(fake.messages('C0SALES001').map((m) => m.text)).toEqual(['hi']);
    const again = await client.conversations.join({ channel: 'C0SALES001' });
    expect(again.warning).toBe('already_in_channel');
  });

  it('treats private and archived channels as Slack does', async () => {
    const codes = async (p: Promise<unknown>) => (await platformError(p)).data.error;
    expect(await codes(client.conversations.join({ channel: 'G0SECRET01' }))).toBe('channel_not_found');
    expect(await codes(client.conversations.join({ channel: 'G0PRIVIN01' }))).toBe('method_not_supported_for_channel_type');
    expect(await codes(client.chat.postMessage({ channel: 'G0SECRET01', text: 'x' }))).toBe('channel_not_found');
    expect(await codes(client.conversations.info({ channel: 'G0SECRET01' }))).toBe('channel_not_found');
    expect(await codes(client.conversations.join({ channel: 'C0OLD00001' }))).toBe('is_archived');
    expect(await codes(client.chat.postMessage({ channel: 'C0NOPE0001', text: 'x' }))).toBe('channel_not_found');
    const info = await client.conversations.info({ channel: 'G0PRIVIN01' });
    expect(info.channel).toMatchObject({ is_private: true, is_member: true, name: 'priv-in' });
  });

  it('posts to a user id as a DM', async () => {
    const res = await client.chat.postMessage({ channel: ALICE, text: 'Your weekly digest' });
    expect(res.channel).toBe('D0ALICE001');
    expect(fake.messages(ALICE).map((m) => m.text)).toEqual(['Your weekly digest']);
  });

  it('records ephemerals and checks the user is in the channel', async () => {
    const res = await client.chat.postEphemeral({ channel: 'C0GENERAL1', user: BOB, text: 'Only you can see this' });
    expect(res.message_ts).toBeTruthy();
    expect(fake.ephemerals({ user: BOB }).at(-1)).toMatchObject({ channel: 'C0GENERAL1', text: 'Only you can see this' });
    expect((await platformError(client.chat.postEphemeral({ channel: 'C0ALICEONL', user: BOB, text: 'x' }))).data.error).toBe('user_not_in_channel');
    expect((await platformError(client.chat.postEphemeral({ channel: 'C0GENERAL1', user: 'U0NOBODY01', text: 'x' }))).data.error).toBe('user_not_found');
  });

  it('updates its own messages and refuses unknown ones', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'C0GENERAL1', text: 'v1' });
    const res = await client.chat.update({ channel: 'C0GENERAL1', ts: ts!, text: 'v2' });
    expect(res.ts).toBe(ts);
    expect(fake.messages('C0GENERAL1').find((m) => m.ts === ts)).toMatchObject({ text: 'v2', edited: expect.any(Object) });
    expect((await platformError(client.chat.update({ channel: 'C0GENERAL1', ts: '1.000001', text: 'x' }))).data.error).toBe('message_not_found');
    expect((await platformError(client.chat.postMessage({ channel: 'C0GENERAL1' } as never))).data.error).toBe('no_text');
  });
});

describe('users and team', () => {
  it('looks users up by id and (case-insensitive) email', async () => {
    const info = await client.users.info({ user: ALICE });
    expect(info.user).toMatchObject({ id: ALICE, tz: 'Europe/Paris', profile: { email: 'Alice@Acme.test' } });
    expect(typeof info.user?.tz_offset).toBe('number');
    const byEmail = await client.users.lookupByEmail({ email: 'alice@acme.test' });
    expect(byEmail.user?.id).toBe(ALICE);
    expect((await platformError(client.users.info({ user: 'U0NOBODY01' }))).data.error).toBe('user_not_found');
    expect((await platformError(client.users.lookupByEmail({ email: 'nobody@acme.test' }))).data.error).toBe('users_not_found');
  });
});

describe('Block Kit validation', () => {
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const button = (action_id: string) => ({ type: 'button', text: { type: 'plain_text', text: 'Go' }, action_id, value: 'v' });

  it('rejects more than 50 blocks in a message with invalid_blocks + messages', async () => {
    const blocks = Array.from({ length: 51 }, (_, i) => section(`row ${i}`));
    const err = await platformError(client.chat.postMessage({ channel: 'C0GENERAL1', text: 'x', blocks }));
    expect(err.data.error).toBe('invalid_blocks');
    expect(err.data.response_metadata?.messages).toEqual(['[ERROR] no more than 50 items allowed [json-pointer:/blocks]']);
    expect(validateBlocks(blocks.slice(0, 50), 'message')).toEqual([]);
    expect(validateBlocks(Array.from({ length: 100 }, () => ({ type: 'divider' })), 'modal')).toEqual([]);
    expect(validateBlocks(Array.from({ length: 101 }, () => ({ type: 'divider' })), 'home')).toHaveLength(1);
  });

  it('rejects a long header, mrkdwn header, and duplicate action_id / block_id', async () => {
    const longHeader = [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }];
    const err = await platformError(client.chat.postMessage({ channel: 'C0GENERAL1', text: 'x', blocks: longHeader }));
    expect(err.data.response_metadata?.messages).toEqual(['[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]']);

    expect(validateBlocks([{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }], 'message')).toEqual([
      'must be a valid enum value (plain_text) [json-pointer:/blocks/0/text/type]',
    ]);

    const dup = [
      { type: 'actions', block_id: 'a', elements: [button('snooze')] },
      { type: 'section', block_id: 'a', text: { type: 'mrkdwn', text: 'x' }, accessory: button('snooze') },
    ];
    const dupErr = await platformError(client.chat.postMessage({ channel: 'C0GENERAL1', text: 'x', blocks: dup }));
    expect(dupErr.data.error).toBe('invalid_blocks');
    expect(dupErr.data.response_metadata?.messages).toEqual([
      '[ERROR] duplicate block_id "a" (first used at /blocks/0) [json-pointer:/blocks/1/block_id]',
      '[ERROR] duplicate action_id "snooze" (first used at /blocks/0/elements/0) [json-pointer:/blocks/1/accessory/action_id]',
    ]);
  });

  it('checks element limits, unknown types and message length', async () => {
    const problems = validateBlocks([
      { type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3001) }, fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) },
      { type: 'actions', elements: [{ ...button('b'), text: { type: 'plain_text', text: 'x'.repeat(76) }, url: 'u'.repeat(3001) }] },
      { type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'plain_text', text: 'c' })) },
      { type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button(`a${i}`)) },
      { type: 'rich_text', elements: [] },
      { type: 'input', label: { type: 'plain_text', text: 'Note' }, element: { type: 'button', text: { type: 'plain_text', text: 'x' } } },
    ], 'message');
    expect(problems).toEqual([
      'must be less than 3001 characters [json-pointer:/blocks/0/text/text]',
      'no more than 10 items allowed [json-pointer:/blocks/0/fields]',
      'must be less than 76 characters [json-pointer:/blocks/1/elements/0/text/text]',
      'must be less than 3001 characters [json-pointer:/blocks/1/elements/0/url]',
      'no more than 10 items allowed [json-pointer:/blocks/2/elements]',
      'no more than 25 items allowed [json-pointer:/blocks/3/elements]',
      expect.stringMatching(/^unsupported block type "rich_text".*\[json-pointer:\/blocks\/4\/type\]$/),
      'element type "button" is not allowed in input blocks [json-pointer:/blocks/5/element/type]',
    ]);
    const err = await platformError(client.chat.postMessage({ channel: 'C0GENERAL1', text: 'x'.repeat(40_001) }));
    expect(err.data.error).toBe('msg_too_long');
  });

  it('validates modal views with invalid_arguments, as Slack does for views.*', async () => {
    const view = {
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text: 'A title that is far too long' },
      blocks: [{ type: 'input', label: { type: 'plain_text', text: 'Note' }, element: { type: 'plain_text_input', action_id: 'note' } }],
      private_metadata: 'm'.repeat(3001),
    };
    const err = await platformError(client.views.open({ trigger_id: fake.triggerId(TEAM, ALICE), view }));
    expect(err.data.error).toBe('invalid_arguments');
    expect(err.data.response_metadata?.messages).toEqual([
      '[ERROR] must be less than 25 characters [json-pointer:/view/title/text]',
      '[ERROR] must provide submit when blocks contain input blocks [json-pointer:/view/submit]',
      '[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]',
    ]);
    expect(validateView({ type: 'home', blocks: [] }, 'home')).toEqual([]);
  });
});

describe('views', () => {
  const modal = (title: string) => ({
    type: 'modal' as const,
    callback_id: 'log_note',
    title: { type: 'plain_text' as const, text: title },
    submit: { type: 'plain_text' as const, text: 'Save' },
    blocks: [{ type: 'input', block_id: 'note', label: { type: 'plain_text', text: 'Note' }, element: { type: 'plain_text_input', action_id: 'v' } }],
  });

  it('opens a modal once per trigger id, then updates it with hash checks', async () => {
    const trigger = fake.triggerId(TEAM, ALICE);
    const opened = await client.views.open({ trigger_id: trigger, view: modal('Log note') });
    const viewId = opened.view!.id!;
    expect(fake.modals(ALICE).map((v) => v.id)).toContain(viewId);
    expect(fake.view(viewId)?.view.callback_id).toBe('log_note');

    expect((await platformError(client.views.open({ trigger_id: trigger, view: modal('x') }))).data.error).toBe('exchanged_trigger_id');
    expect((await platformError(client.views.open({ trigger_id: '1.2.abc', view: modal('x') }))).data.error).toBe('invalid_trigger_id');

    const updated = await client.views.update({ view_id: viewId, hash: opened.view!.hash, view: modal('Saved') });
    expect(fake.view(viewId)?.history).toHaveLength(2);
    expect((await platformError(client.views.update({ view_id: viewId, hash: opened.view!.hash, view: modal('x') }))).data.error).toBe('hash_conflict');
    expect(updated.view?.hash).not.toBe(opened.view!.hash);
    expect((await platformError(client.views.update({ view_id: 'V0NOPE0000', view: modal('x') }))).data.error).toBe('not_found');
  });

  it('expires trigger ids after the TTL', async () => {
    const f = await startFakeSlack({ triggerTtlMs: 1, teams: [{ teamId: TEAM, botToken: TOKEN }] });
    try {
      const c = new WebClient(TOKEN, { slackApiUrl: f.apiUrl, retryConfig: fastRetry, logger: quiet });
      const trigger = f.triggerId(TEAM);
      await new Promise((r) => setTimeout(r, 10));
      expect((await platformError(c.views.open({ trigger_id: trigger, view: modal('x') }))).data.error).toBe('expired_trigger_id');
    } finally {
      await f.close();
    }
  });

  it('publishes home views per user', async () => {
    const home = { type: 'home' as const, blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Your accounts' } }] };
    const res = await client.views.publish({ user_id: ALICE, view: home });
    expect(res.view?.type).toBe('home');
    expect(fake.homeView(ALICE)?.view.blocks).toEqual(home.blocks);
    expect(fake.homeView(BOB)).toBeUndefined();
    const modalAsHome = await platformError(client.views.publish({ user_id: ALICE, view: modal('x') as never }));
    expect(modalAsHome.data.error).toBe('invalid_arguments');
  });
});

describe('oauth.v2.access', () => {
  it('exchanges an issued code for a working bot token, once', async () => {
    fake.addTeam({ teamId: 'T0NEWTEAM1', name: 'Newco', botUserId: 'U0NEWBOT01', users: [{ id: 'U0ADMIN001', name: 'admin', email: 'a@newco.test' }] });
    const code = fake.issueOAuthCode('T0NEWTEAM1', { userId: 'U0ADMIN001', redirectUri: 'https://pivotal.test/slack/oauth_redirect' });
    const anon = new WebClient(undefined, { slackApiUrl: fake.apiUrl, retryConfig: fastRetry, logger: quiet });
    const args = { client_id: fake.clientId, client_secret: fake.clientSecret, code, redirect_uri: 'https://pivotal.test/slack/oauth_redirect' };
    const res = await anon.oauth.v2.access(args);
    expect(res).toMatchObject({
      ok: true, token_type: 'bot', bot_user_id: 'U0NEWBOT01', app_id: fake.appId, team: { id: 'T0NEWTEAM1', name: 'Newco' },
      enterprise: null, is_enterprise_install: false, authed_user: { id: 'U0ADMIN001' },
    });
    expect(res.access_token).toMatch(/^xoxb-/);
    expect(res.scope).toContain('chat:write');
    const installed = new WebClient(res.access_token, { slackApiUrl: fake.apiUrl, retryConfig: fastRetry, logger: quiet });
    await expect(installed.auth.test()).resolves.toMatchObject({ team_id: 'T0NEWTEAM1' });

    expect((await platformError(anon.oauth.v2.access(args))).data.error).toBe('invalid_code');
    const code2 = fake.issueOAuthCode('T0NEWTEAM1');
    expect((await platformError(anon.oauth.v2.access({ ...args, code: code2, client_secret: 'nope' }))).data.error).toBe('bad_client_secret');
  });
});

describe('response_url sink', () => {
  const postJson = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('records, validates and lets tests await responses', async () => {
    const url = fake.responseUrl({ teamId: TEAM, channelId: 'C0GENERAL1', userId: ALICE });
    const waiting = fake.waitForResponse(url, 1000);
    const ok = await postJson(url, { response_type: 'ephemeral', text: 'Working on it…' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
    expect((await waiting).body).toMatchObject({ text: 'Working on it…' });
    expect(fake.ephemerals({ user: ALICE }).at(-1)).toMatchObject({ text: 'Working on it…', via: 'response_url' });

    const bad = await postJson(url, { text: 'x', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ ok: false, error: 'invalid_blocks' });
    expect(await fake.waitForResponse(url)).toMatchObject({ status: 400, error: 'invalid_blocks' });

    await postJson(url, { response_type: 'in_channel', text: 'Shared with the channel' });
    expect((await fake.waitForResponse(url)).body.response_type).toBe('in_channel');
    expect(fake.messages('C0GENERAL1').at(-1)).toMatchObject({ text: 'Shared with the channel', via: 'response_url' });
    expect(fake.responses(url)).toHaveLength(3);
    expect(fake.allResponses().length).toBeGreaterThanOrEqual(3);
    await expect(fake.waitForResponse(url, 50)).rejects.toThrow(/no response_url POST/);
  });

  it('replaces or deletes the original message and enforces the 5-use limit', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'C0GENERAL1', text: 'Renewal at risk', blocks: [{ type: 'divider' }] });
    const url = fake.responseUrl({ teamId: TEAM, channelId: 'C0GENERAL1', messageTs: ts });
    await postJson(url, { replace_original: true, text: 'Snoozed for 7 days' });
    expect(fake.messages('C0GENERAL1').find((m) => m.ts === ts)?.text).toBe('Snoozed for 7 days');
    await postJson(url, { delete_original: true });
    expect(fake.messages('C0GENERAL1').find((m) => m.ts === ts)).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await postJson(url, { text: `n${i}` })).status).toBe(200);
    const sixth = await postJson(url, { text: 'too many' });
    expect(sixth.status).toBe(404);
    expect(await sixth.json()).toEqual({ ok: false, error: 'used_url' });
  });
});

describe('signed inbound requests', () => {
  // Worked example from https://api.slack.com/authentication/verifying-requests-from-slack
  const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
  const DOC_TS = 1531420618;
  const DOC_BODY =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar' +
    '&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com' +
    '%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const DOC_SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

  it("reproduces Slack's documented signature", () => {
    const independent = `v0=${createHmac('sha256', DOC_SECRET).update(`v0:${DOC_TS}:${DOC_BODY}`).digest('hex')}`;
    expect(independent).toBe(DOC_SIG);
    expect(signSlackRequest(DOC_SECRET, DOC_BODY, DOC_TS)).toEqual({ 'X-Slack-Signature': DOC_SIG, 'X-Slack-Request-Timestamp': String(DOC_TS) });
    expect(isValidSlackRequest({
      signingSecret: DOC_SECRET, body: DOC_BODY, nowMilliseconds: DOC_TS * 1000,
      headers: { 'x-slack-signature': DOC_SIG, 'x-slack-request-timestamp': DOC_TS },
    })).toBe(true);
  });

  it('builds realistic bodies and posts them signed; Bolt accepts the signature', async () => {
    const secret = 'test-signing-secret';
    const received: Array<{ ct: string; body: string; valid: boolean }> = [];
    const app = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const valid = isValidSlackRequest({
          signingSecret: secret, body,
          headers: { 'x-slack-signature': String(req.headers['x-slack-signature']), 'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']) },
        });
        received.push({ ct: String(req.headers['content-type']), body, valid });
        res.writeHead(valid ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ valid }));
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/slack/events`;
    try {
      const responseUrl = fake.responseUrl({ teamId: TEAM, channelId: 'C0GENERAL1', userId: ALICE });
      const triggerId = fake.triggerId(TEAM, ALICE);
      const slash = slashCommandBody({ teamId: TEAM, userId: ALICE, channelId: 'C0GENERAL1', text: 'health acme', responseUrl, triggerId });
      const r1 = await postToApp(url, secret, slash);
      expect(r1).toMatchObject({ status: 200, json: { valid: true } });
      expect(received[0]!.ct).toBe('application/x-www-form-urlencoded');
      const form = Object.fromEntries(new URLSearchParams(slash));
      expect(Object.keys(form)).toEqual([
        'token', 'team_id', 'team_domain', 'channel_id', 'channel_name', 'user_id', 'user_name', 'command', 'text',
        'api_app_id', 'is_enterprise_install', 'response_url', 'trigger_id',
      ]);
      expect(form).toMatchObject({ command: '/pivotal', text: 'health acme', response_url: responseUrl, trigger_id: triggerId });
      expect(slash).toContain('text=health+acme');

      const actions = blockActionsBody({
        teamId: TEAM, userId: ALICE, channelId: 'C0GENERAL1', responseUrl, triggerId,
        actions: [{ action_id: 'snooze', value: 'acct_1', block_id: 'alert' }],
      });
      expect((await postToApp(url, secret, actions)).status).toBe(200);
      const payload = JSON.parse(new URLSearchParams(actions).get('payload')!);
      expect(payload).toMatchObject({
        type: 'block_actions', user: { id: ALICE }, team: { id: TEAM }, response_url: responseUrl, trigger_id: triggerId,
        container: { type: 'message', channel_id: 'C0GENERAL1' }, actions: [{ action_id: 'snooze', value: 'acct_1', block_id: 'alert', type: 'button' }],
      });

      const sub = viewSubmissionBody({ teamId: TEAM, userId: ALICE, callbackId: 'log_note', values: { note: { v: { type: 'plain_text_input', value: 'hi' } } } });
      expect(JSON.parse(new URLSearchParams(sub).get('payload')!)).toMatchObject({
        type: 'view_submission', view: { callback_id: 'log_note', state: { values: { note: { v: { value: 'hi' } } } } },
      });

      const event = appHomeOpenedEvent({ teamId: TEAM, userId: ALICE, botUserId: BOT });
      const r3 = await postToApp(url, secret, event);
      expect(r3.status).toBe(200);
      expect(received.at(-1)!.ct).toBe('application/json');
      expect(JSON.parse(event)).toMatchObject({
        type: 'event_callback', team_id: TEAM, event: { type: 'app_home_opened', user: ALICE, tab: 'home' },
        event_id: expect.stringMatching(/^Ev/), event_time: expect.any(Number), authorizations: [{ user_id: BOT, is_bot: true }],
      });

      const stale = await postToApp(url, secret, slash, undefined, { timestampSec: Math.floor(Date.now() / 1000) - 600 });
      expect(stale.status).toBe(401);
      const wrongSecret = await postToApp(url, 'other-secret', slash);
      expect(wrongSecret.status).toBe(401);
    } finally {
      await new Promise((r) => app.close(r));
    }
  });
});
