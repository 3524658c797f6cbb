// The portal in a real browser (Debian's Chromium through playwright-core): the
// sign-in link lands the owner on the workspace home; a used link shows a clear page.
// Screenshots go to test-results/ for a person to look at.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { resetEnvCache } from '../../core/env.ts';
import { freePort } from '../../core/db/ferretdb.ts';
import { Connection } from '../../core/models/connection.ts';
import { SlackInstallation } from '../../core/models/slack.ts';
import { encryptJson, encryptSecret } from '../../core/crypto.ts';
import { repoRoot } from '../../core/paths.ts';

useTestDatabase('portal_browser');
let portal: PortalServer;
let browser: Browser;
const shots = path.join(repoRoot, 'test-results');

beforeAll(async () => {
  const port = await freePort();
  process.env.APP_URL = `http://127.0.0.1:${port}`;
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  fs.mkdirSync(shots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

describe('portal sign-in', () => {
  it('signs an invited admin in with a one-time link', async () => {
    const ws = await createWorkspace({ name: 'Acme Success' });
    await inviteMember({ workspaceId: String(ws._id), email: 'olivia@acme.com', role: 'owner' });
    const { link } = await inviteMember({ workspaceId: String(ws._id), email: 'dana@acme.com', role: 'admin' });
    const page = await browser.newPage();
    await page.goto(link);
    await expect(page.locator('h1').textContent()).resolves.toBe('Acme Success');
    await expect(page.locator('main').textContent()).resolves.toContain('You are signed in as dana@acme.com (admin).');
    await page.screenshot({ path: path.join(shots, 'portal-home.png'), fullPage: true });

    const again = await browser.newPage();
    const res = await again.goto(link);
    expect(res!.status()).toBe(401);
    await expect(again.locator('h1').textContent()).resolves.toBe('Sign-in link not accepted');
    await again.screenshot({ path: path.join(shots, 'portal-link-used.png') });
  });

  it('tells admins on the home page when a connection needs re-authorization or Slack stopped working', async () => {
    const ws = await createWorkspace({ name: 'Needs Attention' });
    await Connection.create({ workspace_id: ws._id, provider: 'hubspot', role: 'customer_source', auth_type: 'oauth', credentials: encryptJson({ accessToken: 'x' }), state: 'reauthorize', state_reason: 'HubSpot refused the refresh token: reconnect HubSpot' });
    await Connection.create({ workspace_id: ws._id, provider: 'stripe', role: 'billing_signal', mode: 'test', auth_type: 'token', credentials: encryptJson({ accessToken: 'rk_test_x' }), state: 'connected', last_full_sync_at: new Date() });
    await SlackInstallation.create({ team_id: 'T0BROKEN1', team_name: 'Acme Slack', workspace_id: ws._id, bot_token: encryptSecret('xoxb-1'), status: 'broken', status_reason: 'token_revoked' });
    const { link } = await inviteMember({ workspaceId: String(ws._id), email: 'owner@needs.test', role: 'owner' });
    const page = await browser.newPage();
    await page.goto(link);
    const banners = await page.locator('[role=alert]').allTextContents();
    expect(banners.join('\n')).toContain('HubSpot needs to be reconnected: HubSpot refused the refresh token: reconnect HubSpot. Syncing resumes once it is.');
    expect(banners.join('\n')).toContain('Slack (Acme Slack) stopped accepting');
    const rows = await page.locator('table.grid tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('reauthorize');
    expect(rows[1]).toContain('Stripe (test)');
    await page.screenshot({ path: path.join(shots, 'portal-attention.png'), fullPage: true });
  });
});
