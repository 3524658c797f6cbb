// Multi-workspace install through Slack's OAuth v2, end to end against the fake Slack:
// a signed-in admin's portal /connect/slack → one-use bot link → consent redirect →
// callback → installation stored encrypted and mapped to that workspace (replacing its
// previous team) → signed slash commands from the new team are answered; Slack's
// app_uninstalled and tokens_revoked events unlink the team.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeSlack, postToApp, slashCommandBody, type FakeSlack } from '../fakes/slack.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { SlackInstallation } from '../../core/models/slack.ts';
import { Workspace } from '../../core/models/workspace.ts';
import { startBot, type BotServer } from '../../bot/app.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { freePort } from '../../core/db/local-database.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { signInCookie } from '../helpers/portal.ts';
import { eventCallbackBody } from '../fakes/slack.ts';
import { until } from '../helpers/until.ts';

useTestDatabase('slack_install');
const SECRET = 'install-signing-secret';
const saved = { ...process.env };
let fake: FakeSlack;
let bot: BotServer;
let workspaceId = '';
let portal: PortalServer;
let portalUrl = '';
let ownerCookie = '';
let memberCookie = '';

/** What the admin's browser does: the portal's /connect/slack hands it a one-use link to the bot. */
async function installLink(cookie: string): Promise<string> {
  const res = await fetch(`${portalUrl}/connect/slack`, { redirect: 'manual', headers: { cookie } });
  expect(res.status).toBe(302);
  return res.headers.get('location')!;
}

/** Consent and callback for a team; returns the callback response. */
async function installInto(teamId: string, link: string) {
  const start = await fetch(link, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const consent = new URL(start.headers.get('location')!);
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const code = fake.issueOAuthCode(teamId, { userId: 'U0ADMIN', redirectUri: consent.searchParams.get('redirect_uri')! });
  return fetch(`${process.env.SLACK_PUBLIC_URL}/slack/oauth_redirect?code=${encodeURIComponent(code)}&state=${encodeURIComponent(consent.searchParams.get('state')!)}`, { headers: { cookie } });
}

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
  const port = await freePort();
  portalUrl = `http://127.0.0.1:${port}`;
  process.env.APP_URL = portalUrl;
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
  ownerCookie = await signInCookie((await inviteMember({ workspaceId, email: 'owner@installers.test', role: 'owner' })).link);
  memberCookie = await signInCookie((await inviteMember({ workspaceId, email: 'csm@installers.test', role: 'member' })).link);
});

afterAll(async () => {
  await bot?.stop();
  await portal?.stop();
  await fake?.close();
  process.env = saved;
  resetEnvCache();
});

describe('Slack OAuth install', () => {
  it('installs from a signed-in admin\'s one-use link, stores the token encrypted, and serves the new team', async () => {
    const link = await installLink(ownerCookie);
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

  it('hands install links only to signed-in owners and admins, and each works once', async () => {
    expect((await fetch(`${portalUrl}/connect/slack`, { redirect: 'manual' })).status).toBe(401);
    expect((await fetch(`${portalUrl}/connect/slack`, { redirect: 'manual', headers: { cookie: memberCookie } })).status).toBe(403);
    const link = await installLink(ownerCookie);
    const uses = await Promise.all([0, 1, 2].map(() => fetch(link, { redirect: 'manual' })));
    expect(uses.map((r) => r.status).sort()).toEqual([302, 400, 400]);
    const again = await fetch(link, { redirect: 'manual' });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('expired or was already used');
  });

  it('re-installing into another Slack team replaces the old one; uninstall and token revocation unlink', async () => {
    fake.addTeam({ teamId: 'T0SECOND', name: 'Second Team', users: [{ id: 'U0ADMIN', name: 'admin', email: 'admin@new.test' }], channels: [{ id: 'C0GEN2', name: 'general', isMember: true }] });
    expect((await installInto('T0SECOND', await installLink(ownerCookie))).status).toBe(200);
    expect((await SlackInstallation.find({ workspace_id: workspaceId }).lean()).map((i) => i.team_id)).toEqual(['T0SECOND']);
    expect((await Workspace.findById(workspaceId).lean())!.slack_team_id).toBe('T0SECOND');

    const uninstalled = await postToApp(`${bot.url}/slack/events`, SECRET, eventCallbackBody({ teamId: 'T0SECOND', event: { type: 'app_uninstalled' } }), 'application/json');
    expect(uninstalled.status).toBe(200);
    // the listener removes the installation, then unlinks the workspace: wait for both
    await until(async () => (await SlackInstallation.countDocuments({ team_id: 'T0SECOND' })) === 0 && (await Workspace.findById(workspaceId).lean())!.slack_team_id === null);

    expect((await installInto('T0NEWTEAM', await installLink(ownerCookie))).status).toBe(200);
    const revoked = await postToApp(`${bot.url}/slack/events`, SECRET, eventCallbackBody({ teamId: 'T0NEWTEAM', event: { type: 'tokens_revoked', tokens: { bot: ['U0BOT'] } } }), 'application/json');
    expect(revoked.status).toBe(200);
    await until(async () => (await SlackInstallation.countDocuments({ team_id: 'T0NEWTEAM' })) === 0);
  });

  it('refuses forged install links and a callback with a bad state', async () => {
    const forged = await fetch(`${process.env.SLACK_PUBLIC_URL}/slack/install?token=${workspaceId}.${Date.now() + 60_000}.AAAA`, { redirect: 'manual' });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('This install link is not valid');
    const bad = await fetch(`${process.env.SLACK_PUBLIC_URL}/slack/oauth_redirect?code=x&state=not-a-state`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Slack install failed');
  });
});
