// The Salesforce source filter on /connections/:id in Chromium: an admin types a condition
// with a picklist typo, saving refuses it with the reason, the corrected one is saved and
// shown again; screenshots at 1280 and 390 px in test-results/.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { launchChromium, shoot, signInThrough } from '../helpers/browser.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../fakes/salesforce.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { resetEnvCache } from '../../core/env.ts';
import { freePort } from '../../core/db/local-database.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { Connection } from '../../core/models/connection.ts';

useTestDatabase('salesforce_filter_browser');
vi.setConfig({ testTimeout: 120_000 });
const saved = { ...process.env };
let sf: FakeSalesforce;
let portal: PortalServer;
let browser: Browser;
let base = '';

beforeAll(async () => {
  sf = await startFakeSalesforce({ clientId: 'sf-cid', clientSecret: 'sf-secret' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  Object.assign(process.env, { APP_URL: base, SALESFORCE_CLIENT_ID: 'sf-cid', SALESFORCE_CLIENT_SECRET: 'sf-secret', SALESFORCE_LOGIN_URL: sf.url });
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
  await sf?.close();
  process.env = saved;
  resetEnvCache();
});

describe('the Salesforce source filter in the browser', () => {
  it('refuses a condition Salesforce would not match, naming the value, and saves the corrected one', async () => {
    const ws = await createWorkspace({ name: 'Filter Co' });
    const t = sf.issueToken();
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'salesforce', authType: 'oauth', credentials: { accessToken: t.accessToken, refreshToken: t.refreshToken, instanceUrl: sf.url }, settings: {} });
    const { link } = await inviteMember({ workspaceId: String(ws._id), email: 'owner@filter.test', role: 'owner' });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30_000);
    await signInThrough(page, link);
    await page.goto(`${base}/connections/${String(conn._id)}`);

    await page.getByLabel('Field').first().fill('Type');
    await page.getByLabel('Operator').first().selectOption('in');
    await page.getByLabel('Value').first().fill('Customer - Direct, Custmer - Channel');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('alert').waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('"Custmer - Channel" is not a value of Type');
    expect((await Connection.findById(conn._id).lean())!.settings?.filter ?? null).toBeNull();
    await shoot(page, 'salesforce-filter-refused');

    await page.getByLabel('Value').first().fill('Customer - Direct, Customer - Channel');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved. The next sync uses the new settings.').waitFor();
    expect((await Connection.findById(conn._id).lean())!.settings?.filter).toEqual([{ field: 'Type', operator: 'in', value: ['Customer - Direct', 'Customer - Channel'] }]);
    await page.reload();
    await expect(page.getByLabel('Value').first().inputValue()).resolves.toBe('Customer - Direct, Customer - Channel');
    await shoot(page, 'salesforce-filter-saved');
    await page.close();
  });
});
