// An admin's whole path through the connection screens in a real browser (Debian's
// Chromium): the 503 "OAuth is not configured" page with its token form, connecting the
// fake HubSpot with a token, validate → preview → full sync with the progress bar reaching
// 100% without a reload, a custom property mapped to a custom field with the live preview,
// the mapped value on the customer's page, a CRM record matching two customers settled on
// the ambiguous-matches page and honoured by the next sync, no stale 30-minute warning right
// after a full sync, sync errors (CSV, ignore), the integration log, disconnect and
// reconnect, the Slack page's test alert reaching the fake Slack, and members kept out of
// admin pages and actions (403; a signed-out visitor 401).
// Every page is saved at 1280 px and 390 px under test-results/.
import { Types } from 'mongoose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { arrivedAt, launchChromium, shoot, signInThrough } from '../helpers/browser.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { resetEnvCache } from '../../core/env.ts';
import { freePort } from '../../core/db/local-database.ts';
import { startJobProcessor, type JobProcessor } from '../../core/jobs/agenda.ts';
import { linkSlackTeam } from '../../core/slack/link.ts';
import { Customer } from '../../core/models/customer.ts';
import { Connection } from '../../core/models/connection.ts';
import { AmbiguousMatch } from '../../core/models/sync.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.ts';
import { jobs } from '../../core/app/composition.ts';

useTestDatabase('portal_connections');
// Each step drives a browser through several pages on a shared 2-core machine.
vi.setConfig({ testTimeout: 120_000 });
let portal: PortalServer;
let browser: Browser;
let hubspot: FakeHubspot;
let slack: FakeSlack;
let worker: JobProcessor;
let workspaceId = '';
let connectionId = '';
let base = '';
let twinIds: Types.ObjectId[] = [];
const saved = { ...process.env };
const TEAM = 'T0PORTAL1';
const ALERTS = 'C0ALERTS1';

async function newPage(link?: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000); // a shared 2-core machine can be slow; waits still fail with what they waited for
  if (link) {
    // The link opens a confirm page; signing in is its button.
    await signInThrough(page, link);
  }
  return page;
}

async function ownerPage() {
  const { link } = await inviteMember({ workspaceId, email: 'owner@portal.test', role: 'owner' });
  return newPage(link);
}

beforeAll(async () => {
  hubspot = await startFakeHubspot({ searchRateLimitPerSec: 0 });
  hubspot.addPrivateAppToken('pat-portal-token');
  hubspot.defineProperty('companies', { name: 'csm_segment', label: 'CSM segment', type: 'string', fieldType: 'text' });
  hubspot.seedCompanies(250, (i) => ({ name: `Company ${i}`, domain: `company${i}.example`, csm_segment: i % 2 ? 'Enterprise' : 'SMB' }));
  hubspot.createCompany({ name: 'Nameless Domain Co', domain: '' });
  // Matches two customers already in Pivotal: the first full sync must not guess.
  hubspot.createCompany({ name: 'Twins Inc', domain: 'twins.example' });
  slack = await startFakeSlack();
  slack.addTeam({ teamId: TEAM, botToken: 'xoxb-portal-1', name: 'Acme Slack', channels: [{ id: ALERTS, name: 'cs-alerts' }, { id: 'C0GENERAL', name: 'general', isMember: true }] });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  Object.assign(process.env, { APP_URL: base, HUBSPOT_API_BASE_URL: hubspot.url, SLACK_API_URL: slack.apiUrl });
  delete process.env.HUBSPOT_CLIENT_ID;
  delete process.env.HUBSPOT_CLIENT_SECRET;
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
  worker = await startJobProcessor({ jobs, name: 'portal-connections', processEveryMs: 200 });
  browser = await launchChromium();
  workspaceId = String((await createWorkspace({ name: 'Portal Co', timezone: 'Europe/Paris' }))._id);
  await createCustomers(new Types.ObjectId(workspaceId), [{ name: 'Twin A', domain: 'twins.example' }, { name: 'Twin B', domain: 'twins.example' }]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop({ drainMs: 0 });
  await portal?.stop();
  await hubspot?.close();
  await slack?.close();
  process.env = saved;
  resetEnvCache();
});

describe('connecting HubSpot from the portal', () => {
  it('answers 503 when HubSpot OAuth is not configured, naming the variables and offering the token form', async () => {
    const page = await ownerPage();
    await page.getByRole('link', { name: 'Connect a source' }).click();
    await arrivedAt(page, '**/connections/new', 'Connect a source');
    await shoot(page, 'portal-connect-new');
    const res = await page.goto(`${base}/connect/hubspot`);
    expect(res!.status()).toBe(503);
    await expect(page.locator('h1').textContent()).resolves.toBe('HubSpot OAuth is not configured');
    const text = await page.locator('main').textContent();
    expect(text).toContain('HUBSPOT_CLIENT_ID');
    expect(text).toContain('HUBSPOT_CLIENT_SECRET');
    expect(text).toContain('Private Apps');
    await expect(page.getByLabel('Private app access token').count()).resolves.toBe(1);
    await expect(page.locator('header.top').count()).resolves.toBe(1);
    await shoot(page, 'portal-oauth-not-configured');

    await page.getByLabel('Private app access token').fill('pat-wrong-token');
    await page.getByRole('button', { name: 'Check the token and connect HubSpot' }).click();
    await page.getByRole('alert').waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/^HubSpot rejected the token/);
    expect(await Connection.countDocuments({ workspace_id: workspaceId })).toBe(0);

    await page.getByLabel('Private app access token').fill('pat-portal-token');
    await page.getByRole('button', { name: 'Check the token and connect HubSpot' }).click();
    await page.waitForURL(/\/connections\/[0-9a-f]{24}/);
    connectionId = /connections\/([0-9a-f]{24})/.exec(page.url())![1]!;
    await expect(page.getByLabel('Connection status').textContent()).resolves.toBe('Connected');
    await expect(page.locator('main').textContent()).resolves.toContain('No full sync has run yet');
    const stored = await Connection.findById(connectionId).lean();
    expect(stored!.credentials).not.toContain('pat-portal-token'); // encrypted at rest
  });

  it('validates (problem records + CSV), previews 10, then runs the full sync with the progress bar reaching 100% without a reload', async () => {
    const page = await ownerPage();
    await page.goto(`${base}/connections/${connectionId}`);
    await page.evaluate(() => ((window as any).__sameDocument = true));
    const check = page.getByRole('region', { name: 'Check before syncing' });
    await check.getByRole('button', { name: 'Validate' }).click();
    await check.getByRole('table', { name: 'Problem records' }).waitFor({ timeout: 30_000 });
    await expect(check.textContent()).resolves.toContain('Nameless Domain Co');
    const csv = await page.request.get(`${base}/connections/${connectionId}/problems.csv`);
    expect(csv.status()).toBe(200);
    expect(await csv.text()).toMatch(/^object_type,record_id,name,match_key,problem\n.*Nameless Domain Co/);
    expect(await Customer.countDocuments({ workspace_id: workspaceId })).toBe(2);

    await check.getByRole('button', { name: 'Preview 10 records' }).click();
    const preview = check.getByRole('table', { name: 'Preview results' });
    await preview.waitFor({ timeout: 30_000 });
    expect(await preview.locator('tbody tr').count()).toBe(10);
    expect(await preview.locator('tbody a[href^="/customers/"]').count()).toBe(10);
    await shoot(page, 'portal-connection-preview');

    const full = page.getByRole('region', { name: 'Full sync' });
    await full.getByRole('button', { name: 'Run full sync' }).click();
    await until(async () => (await full.getByTestId('progress-text').textContent().catch(() => ''))?.startsWith('100%') === true && (await full.locator('.pill').textContent()) === 'succeeded', 60_000, 'progress bar at 100%');
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect(await full.locator('[data-count=created]').textContent()).toBe('240');
    expect(await Customer.countDocuments({ workspace_id: workspaceId })).toBe(252); // Twins Inc waits for an admin
    await shoot(page, 'portal-connection');
  });

  it('lists a CRM record matching two customers with both candidates, and the next sync honours the pick', async () => {
    const page = await ownerPage();
    await page.getByRole('alert').filter({ hasText: 'HubSpot: 1 domain waits for you to pick the customer' }).waitFor();
    await page.goto(`${base}/connections/${connectionId}`);
    await page.getByRole('navigation', { name: 'Connection' }).getByRole('link', { name: /Ambiguous matches\s*1/ }).click();
    await page.waitForURL(`**/connections/${connectionId}/ambiguous`);
    const item = page.getByRole('region', { name: 'twins.example' });
    await expect(item.textContent()).resolves.toContain('Twins Inc');
    const twins = await Customer.find({ workspace_id: workspaceId, domain: 'twins.example' }).sort({ name: 1 }).lean();
    twinIds = twins.map((t) => t._id);
    for (const t of twins) await expect(item.getByRole('link', { name: new RegExp(`${t.name}.*#${t.display_id}`) }).getAttribute('href')).resolves.toBe(`/customers/${t.display_id}`);
    await shoot(page, 'portal-crm-ambiguous');

    await item.getByLabel(/Link to Twin B/).check();
    await item.getByRole('button', { name: 'Save decision' }).click();
    await page.getByRole('status').filter({ hasText: /twins\.example: the next sync links Twins Inc to Twin B/ }).waitFor();
    await page.getByText('No ambiguous matches waiting.').waitFor();
    expect((await AmbiguousMatch.findOne({ connection_id: new Types.ObjectId(connectionId) }).lean())!.status).toBe('resolved');
    await shoot(page, 'portal-crm-ambiguous-settled');
    // Honoured by the full sync of the next step (it links Twins Inc to Twin B there).
  });

  it('maps a custom property to a custom field with a live preview of real records, then the sync fills it', async () => {
    const page = await ownerPage();
    await page.goto(`${base}/connections/${connectionId}/mapping`);
    await expect(page.locator('legend').first().textContent()).resolves.toContain('locked after the first full sync');
    await page.getByRole('button', { name: 'Map another property' }).click();
    const rows = await page.getByRole('table', { name: 'Mapped properties' }).locator('tbody tr').count();
    await page.getByLabel(`Source property of row ${rows}`).selectOption('csm_segment');
    await page.getByLabel(`Target of row ${rows}`).selectOption(':custom');
    await page.getByLabel(`Custom field key of row ${rows}`).fill('segment');
    const preview = page.getByRole('table', { name: 'Mapping preview' });
    // The header can show the new column a render before the rows do: wait for both.
    const lastCells = () => preview.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => (tr.lastElementChild as HTMLElement).innerText));
    await until(async () => (await preview.count()) > 0 && (await preview.locator('thead').textContent())!.includes('custom:segment') && (await lastCells()).every((c) => c === 'Enterprise' || c === 'SMB'), 20_000, 'preview with the new column');
    const cells = await lastCells();
    expect(cells).toHaveLength(5);
    expect(cells.every((c) => c === 'Enterprise' || c === 'SMB')).toBe(true);
    await shoot(page, 'portal-mapping');

    // A type error is refused with the reason; nothing is saved.
    await page.getByLabel(`Custom field type of row ${rows}`).selectOption('number');
    await page.getByRole('alert').filter({ hasText: 'a number field needs a number property' }).waitFor();
    await page.getByLabel(`Custom field type of row ${rows}`).selectOption('string');
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page.getByRole('status').filter({ hasText: /^Saved \d+ mapped properties/ }).waitFor();

    // As if the last sync was two hours ago: the page warns, until the full sync below.
    const earlier = new Date(Date.now() - 2 * 3_600_000);
    await Connection.updateOne({ _id: connectionId }, { $set: { last_full_sync_at: earlier, last_incremental_at: earlier } });
    await page.goto(`${base}/connections/${connectionId}`);
    await expect(page.getByRole('main').textContent()).resolves.toContain('The last incremental update is older than 30 minutes');
    await page.getByRole('region', { name: 'Full sync' }).getByRole('button', { name: 'Run full sync' }).click();
    await until(async () => (await Connection.findById(connectionId).lean())!.last_full_sync_at!.getTime() > earlier.getTime(), 60_000, 'full sync finished');
    // Right after a full sync the data is fresh: no warning about the incremental window.
    await until(async () => !(await page.getByRole('main').textContent())!.includes('older than 30 minutes'), 20_000, 'warning gone without a reload');
    await page.goto(`${base}/connections/${connectionId}`);
    expect(await page.getByRole('main').textContent()).not.toMatch(/older than (30 minutes|24 hours)/);

    const c1 = await Customer.findOne({ workspace_id: workspaceId, domain: 'company1.example' }).lean();
    expect(c1!.custom_fields).toMatchObject({ segment: 'Enterprise' });
    // The mapped value is on the customer's page.
    await page.goto(`${base}/customers/${c1!.display_id}`);
    const fields = page.getByRole('region', { name: 'Custom fields' });
    await expect(fields.getByRole('row', { name: /segment/ }).textContent()).resolves.toContain('Enterprise');
    await shoot(page, 'portal-customer-custom-fields');

    // The ambiguous-match decision of the previous step was honoured: Twin B is Twins Inc now.
    const [twinA, twinB] = await Promise.all(twinIds.map((id) => Customer.findById(id).lean()));
    expect(twinB!.sources.map((s) => s.provider)).toEqual(['hubspot']);
    expect(twinB!.name).toBe('Twins Inc');
    expect(twinA!.sources).toEqual([]);
    expect(await Customer.countDocuments({ workspace_id: workspaceId })).toBe(252);
  });

  it('lists the sync error with a CSV, ignores it, and the integration log filters to runs with errors', async () => {
    const page = await ownerPage();
    await page.goto(`${base}/connections/${connectionId}/errors`);
    const table = page.getByRole('table', { name: 'Open sync errors' });
    await expect(table.locator('tbody tr').count()).resolves.toBe(1);
    await expect(table.textContent()).resolves.toMatch(/no domain/i);
    const csv = await page.request.get(`${base}/connections/${connectionId}/errors.csv`);
    expect(csv.headers()['content-type']).toContain('text/csv');
    expect((await csv.text()).split('\n')[0]).toBe('object_type,record_id,code,message,provider_response,attempts,first_seen_at,last_seen_at');
    await shoot(page, 'portal-sync-errors');
    await table.getByRole('button', { name: /^Ignore record/ }).click();
    await page.getByRole('status').filter({ hasText: 'Ignored until the record changes in the source.' }).waitFor();
    expect((await Customer.db.collection('sync_errors').findOne({ connection_id: new Types.ObjectId(connectionId), resolved_at: null }))!.ignored).toBe(true);
    await page.getByText('No open sync errors.').waitFor();
    await shoot(page, 'portal-sync-errors-empty');

    await page.goto(`${base}/connections/${connectionId}/log`);
    const all = await page.getByRole('table', { name: 'Runs' }).locator('tbody tr').count();
    expect(all).toBeGreaterThanOrEqual(4);
    await expect(page.locator('time').first().textContent()).resolves.toMatch(/CET|CEST|GMT\+1|GMT\+2/);
    await shoot(page, 'portal-integration-log');
    await page.getByRole('link', { name: 'Errors only' }).click();
    await page.waitForURL('**/log?errors=1');
    const text = await page.getByRole('table', { name: 'Runs' }).textContent();
    expect(text).toMatch(/no domain/i);
  });

  it('disconnects (mapping kept) and reconnects with a token', async () => {
    const page = await ownerPage();
    await page.goto(`${base}/connections/${connectionId}`);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByRole('status').filter({ hasText: 'Disconnected.' }).waitFor();
    await page.getByLabel('Connection status').filter({ hasText: /^Disconnected/ }).waitFor();
    await shoot(page, 'portal-connection-disconnected');
    await page.getByLabel('Private app access token').fill('pat-portal-token');
    await page.getByRole('button', { name: 'Check the token and reconnect' }).click();
    await page.getByRole('status').filter({ hasText: 'Reconnected' }).waitFor();
    await page.getByLabel('Connection status').filter({ hasText: /^Connected$/ }).waitFor();
    const conn = await Connection.findById(connectionId).lean();
    expect((conn!.field_mapping as { target: string }[]).map((m) => m.target)).toContain('custom:segment');
  });
});

describe('Slack, members and roles', () => {
  it("picks the default channel from the team's channels and the test alert reaches Slack", async () => {
    await linkSlackTeam({ workspaceId, teamId: TEAM, botToken: 'xoxb-portal-1' });
    const page = await ownerPage();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Slack' }).click();
    await arrivedAt(page, '**/slack', 'Slack');
    await expect(page.locator('main').textContent()).resolves.toContain(`Linked to the Slack team ${TEAM}`);
    await page.getByLabel(/^Default channel/).selectOption(ALERTS);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.getByRole('button', { name: 'Send a test alert' }).click();
    await page.getByRole('status').filter({ hasText: 'Test alert posted' }).waitFor();
    expect(slack.messages(ALERTS).map((m) => m.text)).toEqual([expect.stringContaining('Test alert from Pivotal')]);
    await shoot(page, 'portal-slack');
  });

  it('invites by link, changes roles keeping one owner, removes', async () => {
    const page = await ownerPage();
    await page.goto(`${base}/members`);
    await page.getByLabel('Email').fill('new.csm@portal.test');
    await page.getByRole('button', { name: 'Create sign-in link' }).click();
    await expect(page.getByTestId('invite-link').textContent()).resolves.toMatch(/\/login\/[A-Za-z0-9_-]+$/);
    await page.getByLabel('Role of new.csm@portal.test').selectOption('admin');
    await page.getByRole('row', { name: /new\.csm@portal\.test/ }).getByRole('button', { name: 'Change' }).click();
    await page.getByRole('status').filter({ hasText: 'new.csm@portal.test is now an admin.' }).waitFor();
    await shoot(page, 'portal-members');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove new.csm@portal.test' }).click();
    await page.getByRole('status').filter({ hasText: 'was removed' }).waitFor();
    const owners = (await Customer.db.collection('workspaces').findOne({ name: 'Portal Co' }))!.members.filter((m: any) => m.role === 'owner');
    expect(owners).toHaveLength(1);
  });

  it('keeps members out of admin pages and actions, checked on the server', async () => {
    const { link } = await inviteMember({ workspaceId, email: 'csm@portal.test', role: 'member' });
    const page = await newPage(link);
    for (const p of ['/connections/new', `/connections/${connectionId}/mapping`, `/connections/${connectionId}/ambiguous`, `/connections/${connectionId}/log`, `/connections/${connectionId}/errors`, `/connections/${connectionId}/errors.csv`, '/members', '/slack']) {
      expect((await page.request.get(`${base}${p}`)).status(), p).toBe(403);
    }
    // The OAuth start (an express route) refuses members too: 403 (signed in, not allowed),
    // while a signed-out visitor is asked to sign in (401).
    expect((await page.request.get(`${base}/connect/hubspot`, { maxRedirects: 0 })).status()).toBe(403);
    expect((await page.request.get(`${base}/connect/slack`, { maxRedirects: 0 })).status()).toBe(403);
    const visitor = await browser.newContext();
    expect((await visitor.request.get(`${base}/connect/hubspot`, { maxRedirects: 0 })).status()).toBe(401);
    await visitor.close();
    const post = (p: string, route: string, form: Record<string, string>) => page.request.post(`${base}${p}?_data=${encodeURIComponent(route)}`, { form, headers: { Origin: base } });
    expect((await post(`/connections/${connectionId}`, 'routes/connections.$id', { intent: 'disconnect' })).status()).toBe(403);
    expect((await post(`/connections/${connectionId}/mapping`, 'routes/connections.$id_.mapping', { intent: 'save', mapping: '{"mapping":[]}' })).status()).toBe(403);
    expect((await post(`/connections/${connectionId}/errors`, 'routes/connections.$id_.errors', { intent: 'ignore-all' })).status()).toBe(403);
    expect((await post(`/connections/${connectionId}/ambiguous`, 'routes/connections.$id_.ambiguous', { intent: 'resolve', match: '0'.repeat(24), choice: 'skip' })).status()).toBe(403);
    expect((await post('/members', 'routes/members', { intent: 'invite', email: 'x@y.z', role: 'admin' })).status()).toBe(403);
    expect((await post('/slack', 'routes/slack', { intent: 'test' })).status()).toBe(403);
    expect((await post('/connections/new', 'routes/connections.new', { intent: 'connect:hubspot', token: 'pat-portal-token' })).status()).toBe(403);
    expect((await Connection.findById(connectionId).lean())!.state).toBe('connected');
    await page.goto(`${base}/members`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Not allowed');
    await expect(page.locator('header.top').count()).resolves.toBe(1);
    await shoot(page, 'portal-forbidden');
  });
});
