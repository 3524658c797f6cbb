// Multi-workspace install through Slack's OAuth v2, end to end against the fake Slack:
// a signed portal link → consent redirect → callback → installation stored encrypted and
// mapped to that workspace → signed slash commands from the new team are answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeSlack, postToApp, slashCommandBody, type FakeSlack } from '../fakes/slack.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { createSlackInstallLink } from '../../core/slack/install.ts';
import { SlackInstallation } from '../../core/models/slack.ts';
import { startBot, type BotServer } from '../../bot/app.ts';

useTestDatabase('slack_install');
const SECRET = 'install-signing-secret';
const saved = { ...process.env };
let fake: FakeSlack;
let bot: BotServer;
let workspaceId = '';

beforeAll(async () => {
  fake = await startFakeSlack({ clientId: '111.222', clientSecret: 'client-secret-xyz' });
  fake.addTeam({ teamId: 'T0NEWTEAM', name: 'New Team', users: [{ id: 'U0ADMIN', name: 'admin', email: 'admin@new.test' }], channels: [{ id: 'C0GEN', name: 'general', isMember: true }] });
  Object.assign(process.env, {
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
    SLACK_CLIENT_ID: '111.222',
    SLACK_CLIENT_SECRET: 'client-secret-xyz',
    SLACK_STATE_SECRET: 'state-secret-for-tests',
  });
  delete process.env.SLACK_BOT_TOKEN;
  delete process.env.SLACK_APP_TOKEN;
  resetEnvCache();
  const ws = await createWorkspace({ name: 'Installers' });
  workspaceId = String(ws._id);
  await createCustomers(ws._id, [{ name: 'Acme', domain: 'acme.com' }]);
  bot = await startBot({ port: 0, host: '127.0.0.1' });
  process.env.SLACK_PUBLIC_URL = bot.url.replace('localhost', '127.0.0.1');
  resetEnvCache();
});

afterAll(async () => {
  await bot?.stop();
  await fake?.close();
  process.env = saved;
  resetEnvCache();
});

describe('Slack OAuth install', () => {
  it('installs from a signed link, stores the token encrypted, and serves the new team', async () => {
    const link = await createSlackInstallLink(workspaceId);
    const start = await fetch(link, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const consent = new URL(start.headers.get('location')!);
    expect(consent.searchParams.get('client_id')).toBe('111.222');
    expect(consent.searchParams.get('scope')).toContain('commands');
    const state = consent.searchParams.get('state')!;
    const cookie = start.headers.get('set-cookie')!.split(';')[0]!;

    const code = fake.issueOAuthCode('T0NEWTEAM', { userId: 'U0ADMIN', redirectUri: consent.searchParams.get('redirect_uri')! });
    const callback = await fetch(`${process.env.SLACK_PUBLIC_URL}/slack/oauth_redirect?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`, { headers: { cookie } });
    expect(callback.status).toBe(200);
    expect(await callback.text()).toContain('Pivotal is installed');

    const install = await SlackInstallation.findOne({ team_id: 'T0NEWTEAM' }).lean();
    expect(String(install!.workspace_id)).toBe(workspaceId);
    expect(install!.source).toBe('oauth');
    const token = fake.tokensFor('T0NEWTEAM')[0]!;
    expect(install!.bot_token).not.toContain(token);
    expect(install!.installation).not.toContain(token);

    const responseUrl = fake.responseUrl({ teamId: 'T0NEWTEAM', channelId: 'C0GEN', userId: 'U0ADMIN' });
    const res = await postToApp(`${bot.url}/slack/events`, SECRET, slashCommandBody({ teamId: 'T0NEWTEAM', userId: 'U0ADMIN', channelId: 'C0GEN', command: '/pivotal', text: 'acme', responseUrl, triggerId: fake.triggerId('T0NEWTEAM', 'U0ADMIN') }));
    expect(res.status).toBe(200);
    const reply = await fake.waitForResponse(responseUrl, 10_000);
    expect(JSON.stringify(reply)).toContain('Acme');
  });

  it('refuses forged or expired install links and a callback with a bad state', async () => {
    const forged = await fetch(`${process.env.SLACK_PUBLIC_URL}/slack/install?token=${workspaceId}.${Date.now() + 60_000}.AAAA`, { redirect: 'manual' });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('This install link is not valid');
    const bad = await fetch(`${process.env.SLACK_PUBLIC_URL}/slack/oauth_redirect?code=x&state=not-a-state`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Slack install failed');
  });
});
