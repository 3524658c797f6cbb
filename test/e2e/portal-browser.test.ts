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
});
