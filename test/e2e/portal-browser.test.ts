// The portal in a real browser (Debian's Chromium through playwright-core): the
// sign-in link lands the owner on the workspace home; a used link shows a clear page.
// Screenshots go to test-results/ for a person to look at.
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { arrivedAt, launchChromium, screenshotDir, signInThrough } from '../helpers/browser.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { resetEnvCache } from '../../core/env.ts';
import { freePort } from '../../core/db/local-database.ts';
import { Connection } from '../../core/models/connection.ts';
import { SlackInstallation } from '../../core/models/slack.ts';
import { encryptJson, encryptSecret } from '../../core/crypto.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { AmbiguousMatch } from '../../core/models/sync.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { attachBilling } from '../../core/billing/store.ts';

useTestDatabase('portal_browser');
let portal: PortalServer;
let browser: Browser;
let stripe: FakeStripe;
const shots = screenshotDir;
/** Opens a one-time link and confirms it, as a person does; lands on the workspace home. */
async function signIn(page: Awaited<ReturnType<typeof newPage>>, link: string) {
  await signInThrough(page, link);
}
/** A fresh browser context; waits fail after 30 s with what they waited for, not at the test timeout. */
async function newPage() {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

beforeAll(async () => {
  const port = await freePort();
  stripe = await startFakeStripe();
  process.env.APP_URL = `http://127.0.0.1:${port}`;
  process.env.STRIPE_API_BASE_URL = stripe.url;
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
  await stripe?.close();
  delete process.env.STRIPE_API_BASE_URL;
  resetEnvCache();
});

describe('portal sign-in', () => {
  it('signs an invited admin in with a one-time link', async () => {
    const ws = await createWorkspace({ name: 'Acme Success' });
    await inviteMember({ workspaceId: String(ws._id), email: 'olivia@acme.com', role: 'owner' });
    const { link } = await inviteMember({ workspaceId: String(ws._id), email: 'dana@acme.com', role: 'admin' });
    const page = await newPage();
    // Opening the link (as a Slack or mail link previewer does) only asks to confirm.
    await page.goto(link);
    await page.goto(link);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in to Acme Success');
    await page.screenshot({ path: path.join(shots, 'portal-sign-in-confirm.png') });
    await page.getByRole('button', { name: 'Sign in' }).click();
    await arrivedAt(page, (u) => u.pathname === '/', 'Acme Success');
    await expect(page.locator('main').textContent()).resolves.toContain('You are signed in as dana@acme.com (admin).');
    await page.screenshot({ path: path.join(shots, 'portal-home.png'), fullPage: true });

    const again = await newPage();
    const res = await again.goto(link);
    expect(res!.status()).toBe(401);
    await expect(again.locator('h1').textContent()).resolves.toBe('Sign-in link not accepted');
    await again.screenshot({ path: path.join(shots, 'portal-link-used.png') });

    // Sign out ends the session: the home page asks to sign in again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await arrivedAt(page, (u) => u.pathname === '/', 'Welcome to Pivotal');
  });

  it('tells admins on the home page when a connection needs re-authorization or Slack stopped working', async () => {
    const ws = await createWorkspace({ name: 'Needs Attention' });
    await Connection.create({ workspace_id: ws._id, provider: 'hubspot', role: 'customer_source', auth_type: 'oauth', credentials: encryptJson({ accessToken: 'x' }), state: 'reauthorize', state_reason: 'HubSpot refused the refresh token: reconnect HubSpot' });
    await Connection.create({ workspace_id: ws._id, provider: 'stripe', role: 'billing_signal', mode: 'test', auth_type: 'token', credentials: encryptJson({ accessToken: 'rk_test_x' }), state: 'connected', last_full_sync_at: new Date() });
    await SlackInstallation.create({ team_id: 'T0BROKEN1', team_name: 'Acme Slack', workspace_id: ws._id, bot_token: encryptSecret('xoxb-1'), status: 'broken', status_reason: 'token_revoked' });
    const { link } = await inviteMember({ workspaceId: String(ws._id), email: 'owner@needs.test', role: 'owner' });
    const page = await newPage();
    await signIn(page, link);
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

describe('billing matches', () => {
  let workspaceId = '';
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const ws = await createWorkspace({ name: 'Billing Matches' });
    workspaceId = String(ws._id);
    await createCustomers(ws._id, [{ name: 'Dup', domain: 'dup.com' }, { name: 'Twin', domain: 'twin.io' }]);
    const b = stripe.book();
    const product = b.insertProduct({ name: 'Growth' }).id as string;
    const price = (cents: number) => b.insertPrice({ product, unit_amount: cents, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
    const [p10, p30, p50] = [price(1000), price(3000), price(5000)];
    const customer = (key: string, email: string, name: string, p: string) => {
      ids[key] = b.insertCustomer({ email, name }).id as string;
      b.insertSubscription({ customer: ids[key], items: [{ price: p }] } as any);
    };
    customer('dupA', 'a@dup.com', 'Dup East', p10);
    customer('dupB', 'b@dup.com', 'Dup West', p30);
    customer('twinA', 'ops@twin.io', 'Twin Labs', p50);
    customer('twinB', 'lab@twin.io', 'Twin Research', p10);
    const conn = await connectSource({ workspaceId, provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: stripe.secretKey } });
    const run = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
    expect(run.counts.ambiguous).toBe(2);
  });

  const billingOf = async (domain: string) =>
    (await attachBilling(await Customer.find({ workspace_id: workspaceId, domain }).sort({ display_id: 1 }).lean())).map((c: any) => [c.name, c.billing?.stripe_customer_id ?? null, c.billing?.mrr ?? null]);

  it('members see the matches of customers they own but cannot settle them; bad and cross-site posts change nothing', async () => {
    await inviteMember({ workspaceId, email: 'owner@billing.test', role: 'owner' }); // the first member always becomes owner
    const { link } = await inviteMember({ workspaceId, email: 'csm@billing.test', role: 'member' });
    await Customer.updateOne({ workspace_id: workspaceId, domain: 'dup.com' }, { $set: { owner_email: 'csm@billing.test' } });
    const page = await newPage();
    await signIn(page, link);
    await page.goto(new URL('/billing', page.url()).toString());
    // Twin is not theirs: its payers' emails and MRR stay hidden.
    await expect(page.getByRole('region').count()).resolves.toBe(1);
    await expect(page.locator('main').textContent()).resolves.not.toContain('twin.io');
    await expect(page.locator('main').textContent()).resolves.not.toContain('ops@twin.io');
    await page.screenshot({ path: path.join(shots, 'portal-billing-member.png'), fullPage: true });
    await expect(page.locator('main').textContent()).resolves.toContain('Ask a workspace owner or admin to settle these.');
    expect(await page.getByRole('button', { name: /Keep only|Split into/ }).count()).toBe(0);
    const match = String((await AmbiguousMatch.findOne({ workspace_id: workspaceId, domain: 'dup.com' }).lean())!._id);
    const post = (p: typeof page, form: Record<string, string>, headers: Record<string, string> = {}) =>
      p.request.post(new URL('/billing?_data=routes%2Fbilling', p.url()).toString(), { form, headers: { Origin: new URL(p.url()).origin, ...headers } });
    const res = await post(page, { intent: 'split', match });
    expect(res.status()).toBe(403);
    expect((await res.json()).message).toBe('Only workspace owners and admins can settle billing matches.');

    const { link: adminLink } = await inviteMember({ workspaceId, email: 'admin2@billing.test', role: 'admin' });
    const admin = await newPage();
    await signIn(admin, adminLink);
    const bad = await post(admin, { intent: 'winner', match: 'nope' });
    expect(bad.status()).toBe(400);
    expect((await bad.json()).message).toBe('Choose a Stripe customer to keep, or split the customer.');
    expect((await post(admin, { intent: 'winner', match, winner: 'cus_notamatch' })).status()).toBe(400);
    expect((await post(admin, { intent: 'split', match: 'a'.repeat(24) })).status()).toBe(404);
    expect((await post(admin, { intent: 'split', match }, { Origin: 'https://evil.example' })).status()).toBe(403);
    expect(await AmbiguousMatch.countDocuments({ workspace_id: workspaceId, status: 'open' })).toBe(2);
  });

  it('an admin keeps one Stripe customer or splits the customer, from the home page banner', async () => {
    expect(await billingOf('dup.com')).toEqual([['Dup', expect.stringMatching(/^cus_/), 4000]]);
    const { link } = await inviteMember({ workspaceId, email: 'admin@billing.test', role: 'admin' });
    const page = await newPage();
    await signIn(page, link);
    expect((await page.locator('[role=alert]').allTextContents()).join('\n')).toContain('Stripe: 2 domains are billed by several Stripe customers');
    await page.screenshot({ path: path.join(shots, 'portal-billing-banner.png'), fullPage: true });
    await page.getByRole('link', { name: 'Review the billing matches →' }).click();
    await arrivedAt(page, '**/billing', 'Billing matches');
    const dup = page.getByRole('region', { name: 'dup.com' });
    await expect(dup.textContent()).resolves.toContain('Dup (#1) · merged MRR $40.00/mo from 2 Stripe customers');
    await expect(dup.locator('a[href^="https://dashboard.stripe.com/test/customers/"]').count()).resolves.toBe(2);
    await page.screenshot({ path: path.join(shots, 'portal-billing-matches.png'), fullPage: true });

    await dup.locator('tr', { hasText: 'Dup West' }).getByRole('button', { name: 'Keep only this one' }).click();
    await page.getByRole('status').filter({ hasText: 'dup.com:' }).waitFor();
    await expect(page.getByRole('status').textContent()).resolves.toBe(`dup.com: billing now comes from ${ids.dupB} only.`);
    await page.getByRole('region', { name: 'dup.com' }).waitFor({ state: 'detached' });
    expect(await billingOf('dup.com')).toEqual([['Dup', ids.dupB, 3000]]);

    await page.getByRole('region', { name: 'twin.io' }).getByRole('button', { name: 'Split into 2 customers' }).click();
    await page.getByRole('status').filter({ hasText: 'twin.io:' }).waitFor();
    await expect(page.getByRole('status').textContent()).resolves.toBe('twin.io: each Stripe customer now bills onto its own Pivotal customer.');
    await page.getByText('No domain needs a decision.').waitFor();
    await expect(page.locator('main').textContent()).resolves.toContain('No domain needs a decision.');
    await page.screenshot({ path: path.join(shots, 'portal-billing-settled.png'), fullPage: true });
    expect(await billingOf('twin.io')).toEqual([['Twin', ids.twinA, 5000], ['Twin Research', ids.twinB, 1000]]);

    // Settled is settled: a second decision on the same domain is refused.
    const dupMatch = String((await AmbiguousMatch.findOne({ workspace_id: workspaceId, domain: 'dup.com' }).lean())!._id);
    const again = await page.request.post(new URL('/billing?_data=routes%2Fbilling', page.url()).toString(), { form: { intent: 'split', match: dupMatch }, headers: { Origin: new URL(page.url()).origin } });
    expect(again.status()).toBe(409);
    expect((await again.json()).message).toBe('dup.com was already settled');

    // Back home: the banner is gone.
    await page.goto(new URL('/', page.url()).toString());
    expect((await page.locator('[role=alert]').allTextContents()).join('\n')).not.toContain('billed by several Stripe customers');
  });
});

describe('Stripe connection settings', () => {
  let workspaceId = '';
  let connectionId = '';
  const ids: Record<string, string> = {};
  const key = 'rk_test_settingsaccount0001';

  beforeAll(async () => {
    const ws = await createWorkspace({ name: 'Settings Co' });
    workspaceId = String(ws._id);
    await inviteMember({ workspaceId, email: 'owner@settings.test', role: 'owner' });
    await createCustomers(ws._id, [{ name: 'Acme', domain: 'acme.com' }, { name: 'Euro', domain: 'euro.de' }]);
    // Its own Stripe account, so the products listed are only these.
    const account = stripe.addAccount({ name: 'Settings Co' });
    stripe.addApiKey(key, { mode: 'test', account, restricted: true });
    const b = stripe.book(account, false);
    ids.account = account;
    ids.core = b.insertProduct({ name: 'Core' }).id as string;
    ids.addon = b.insertProduct({ name: 'Addon' }).id as string;
    const price = (product: string, unit_amount: number, currency = 'usd') => b.insertPrice({ product, unit_amount, currency, recurring: { interval: 'month', interval_count: 1 } }).id as string;
    const acme = b.insertCustomer({ email: 'billing@acme.com', name: 'Acme Inc' }).id as string;
    const euro = b.insertCustomer({ email: 'finance@euro.de', name: 'Euro GmbH' }).id as string;
    b.insertSubscription({ customer: acme, items: [{ price: price(ids.core, 10000) }] } as any);
    b.insertSubscription({ customer: acme, items: [{ price: price(ids.addon, 2000) }] } as any);
    b.insertSubscription({ customer: euro, items: [{ price: price(ids.core, 10000, 'eur') }] } as any);
    const conn = await connectSource({ workspaceId, provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: key } });
    connectionId = String(conn._id);
    await runSync({ connectionId, kind: 'full', trigger: 'test' });
  });

  const mrr = async () => Object.fromEntries((await attachBilling(await Customer.find({ workspace_id: workspaceId }).lean())).map((c: any) => [c.domain, c.billing?.mrr ?? null]));
  const queuedWalks = () => Customer.db.collection('agenda_jobs').countDocuments({ name: 'sync.run', 'data.connection_id': connectionId, 'data.trigger': 'settings' });

  it('an admin narrows the scope and sets an FX rate; billing follows after the queued walk', async () => {
    expect(await mrr()).toEqual({ 'acme.com': 12000, 'euro.de': 10800 }); // built-in EUR 1.08
    const { link } = await inviteMember({ workspaceId, email: 'admin@settings.test', role: 'admin' });
    const page = await newPage();
    await signIn(page, link);
    await page.getByRole('link', { name: 'Stripe (test)' }).click();
    await arrivedAt(page, `**/connections/${connectionId}`, 'Stripebilling signaltest mode');
    await expect(page.getByLabel('Connection status').textContent()).resolves.toBe('Connected');
    expect(await page.getByLabel('All active subscriptions').isChecked()).toBe(true);
    expect(await page.locator('input[name=products]').evaluateAll((els) => els.map((e) => (e.parentElement as HTMLElement).textContent!.trim()))).toEqual([
      `Addon ${ids.addon}`,
      `Core ${ids.core}`,
    ]);

    await page.getByLabel('Only these products and price lookup keys').check();
    await page.getByRole('checkbox', { name: `Core ${ids.core}` }).check();
    await page.getByLabel('Workspace rates').fill('EUR = 1.2');
    await page.screenshot({ path: path.join(shots, 'portal-stripe-settings.png'), fullPage: true });
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').waitFor();
    await expect(page.getByRole('status').textContent()).resolves.toBe('Saved. Billing is being recomputed with the new settings (full sync queued).');
    expect(await queuedWalks()).toBe(1);

    await runSync({ connectionId, kind: 'full', trigger: 'settings' }); // what the worker does with the queued job
    expect(await mrr()).toEqual({ 'acme.com': 10000, 'euro.de': 12000 });

    await page.reload();
    expect(await page.getByLabel('Only these products and price lookup keys').isChecked()).toBe(true);
    expect(await page.getByRole('checkbox', { name: `Core ${ids.core}` }).isChecked()).toBe(true);
    expect(await page.getByRole('checkbox', { name: `Addon ${ids.addon}` }).isChecked()).toBe(false);
    await expect(page.getByLabel('Workspace rates').inputValue()).resolves.toBe('EUR = 1.2');

    // Saving the same again changes nothing and queues nothing new.
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Nothing changed.' }).waitFor();
  });

  it('shows what the last walk matched, and Run sync now queues a full walk', async () => {
    const { link } = await inviteMember({ workspaceId, email: 'admin@settings.test', role: 'admin' });
    const page = await newPage();
    await signIn(page, link);
    await page.goto(new URL(`/connections/${connectionId}`, page.url()).toString());
    const last = page.getByRole('region', { name: 'Last sync' });
    await expect(last.locator('p').first().textContent()).resolves.toMatch(/^full sync succeeded · finished /);
    const rows = await last.locator('tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['matched', '2'],
      ['unmatched (no Pivotal customer on the domain)', '0'],
      ['skipped (no or personal email domain)', '0'],
      ['ambiguous', '0'],
      ['errors', '0'],
    ]);
    const portalWalks = () => Customer.db.collection('agenda_jobs').countDocuments({ name: 'sync.run', 'data.connection_id': connectionId, 'data.trigger': 'portal' });
    await Customer.db.collection('agenda_jobs').deleteMany({ 'data.connection_id': connectionId }); // the worker took the walk queued earlier
    expect(await portalWalks()).toBe(0);
    await page.getByRole('button', { name: 'Run sync now' }).click();
    await page.getByRole('status').filter({ hasText: 'Full sync queued' }).waitFor();
    expect(await portalWalks()).toBe(1);
  });

  it('explains bad input and keeps the saved settings', async () => {
    const { link } = await inviteMember({ workspaceId, email: 'admin@settings.test', role: 'admin' });
    const page = await newPage();
    await signIn(page, link);
    await page.goto(new URL(`/connections/${connectionId}`, page.url()).toString());
    await page.getByLabel('Workspace rates').fill('EUR = 1.2\neuros 3');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('alert').waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toBe('FX table line 2 ("euros 3"): write it as EUR = 1.08');
    await page.getByLabel('Workspace rates').fill('EUR = 1.2');
    await page.getByRole('checkbox', { name: `Core ${ids.core}` }).uncheck();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('alert').filter({ hasText: 'Choose at least one product' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'portal-stripe-settings-error.png'), fullPage: true });
    const conn = await Connection.findById(connectionId).lean();
    expect((conn!.settings as any).scope).toEqual({ products: [ids.core], lookup_keys: [] });
  });

  it('members read the settings but cannot change them; other workspaces get a 404', async () => {
    const { link } = await inviteMember({ workspaceId, email: 'csm@settings.test', role: 'member' });
    const page = await newPage();
    await signIn(page, link);
    const url = new URL(`/connections/${connectionId}`, page.url()).toString();
    await page.goto(url);
    await expect(page.locator('main').textContent()).resolves.toContain('Only owners and admins can change these settings.');
    expect(await page.getByRole('button', { name: 'Save settings' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Run sync now' }).count()).toBe(0);
    expect(await page.getByLabel('All active subscriptions').isDisabled()).toBe(true);
    expect((await page.request.get(new URL(`/connections/${connectionId}/problems.csv`, url).toString())).status()).toBe(403);
    const res = await page.request.post(`${url}?_data=routes%2Fconnections.%24id`, { form: { scope: 'all' }, headers: { Origin: new URL(url).origin } });
    expect(res.status()).toBe(403);
    expect((await page.request.post(`${url}?_data=routes%2Fconnections.%24id`, { form: { intent: 'sync' }, headers: { Origin: new URL(url).origin } })).status()).toBe(403);

    const other = await createWorkspace({ name: 'Elsewhere' });
    const { link: otherLink } = await inviteMember({ workspaceId: String(other._id), email: 'owner@elsewhere.test', role: 'owner' });
    const stranger = await newPage();
    await signIn(stranger, otherLink);
    const missing = await stranger.goto(url);
    expect(missing!.status()).toBe(404);
    await expect(stranger.locator('h1').textContent()).resolves.toBe('Not found');
    await expect(stranger.locator('main').textContent()).resolves.toContain('No such connection in your workspace');
  });

  it('an admin validates (problem records, CSV) and previews before syncing', async () => {
    const b = stripe.book(ids.account!, false);
    const price = b.insertPrice({ product: ids.core!, unit_amount: 900, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } }).id as string;
    const solo = b.insertCustomer({ email: 'solo.founder@gmail.com', name: 'Solo' }).id as string;
    b.insertSubscription({ customer: solo, items: [{ price }] } as any);
    const { link } = await inviteMember({ workspaceId, email: 'checker@settings.test', role: 'admin' });
    const page = await newPage();
    await signIn(page, link);
    await page.goto(new URL(`/connections/${connectionId}`, page.url()).toString());
    const check = page.getByRole('region', { name: 'Check before syncing' });
    await expect(check.textContent()).resolves.toContain('Not validated yet.');

    await check.getByRole('button', { name: 'Validate' }).click();
    await page.getByRole('status').filter({ hasText: 'Validation queued' }).waitFor();
    await runSync({ connectionId, kind: 'validate', trigger: 'portal' }); // what the worker does with it
    await page.reload();
    const problems = await check.getByRole('table', { name: 'Problem records' }).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
    expect(problems).toEqual([`${solo} personal email domain gmail.com`]);
    const csv = await page.request.get(new URL(`/connections/${connectionId}/problems.csv`, page.url()).toString());
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    expect((await csv.text()).trim().split('\n')).toEqual(['object_type,record_id,name,match_key,problem', `customer,${solo},,,personal email domain gmail.com`]);

    await check.getByRole('button', { name: 'Preview' }).click();
    await page.getByRole('status').filter({ hasText: 'Preview queued' }).waitFor();
    await runSync({ connectionId, kind: 'preview', trigger: 'portal' });
    await page.reload();
    const outcomes = await check.getByRole('table', { name: 'Preview results' }).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
    expect(outcomes).toHaveLength(3);
    expect(outcomes).toContain(`${solo} gmail.com personal email domain gmail.com`);
    expect(outcomes.some((o) => o.endsWith('acme.com matched Acme'))).toBe(true);
    await page.screenshot({ path: path.join(shots, 'portal-stripe-preview.png'), fullPage: true });

    const other = await createWorkspace({ name: 'Nosy' });
    const { link: nosyLink } = await inviteMember({ workspaceId: String(other._id), email: 'owner@nosy.test', role: 'owner' });
    // A member sees that a validation ran, not the payers it listed.
    const { link: csmLink } = await inviteMember({ workspaceId, email: 'csm2@settings.test', role: 'member' });
    const csm = await newPage();
    await signIn(csm, csmLink);
    await csm.goto(new URL(`/connections/${connectionId}`, csm.url()).toString());
    const csmCheck = await csm.getByRole('region', { name: 'Check before syncing' }).textContent();
    expect(csmCheck).toContain('Owners and admins see the records.');
    expect(csmCheck).not.toContain(solo);

    const nosy = await newPage();
    await signIn(nosy, nosyLink);
    expect((await nosy.request.get(new URL(`/connections/${connectionId}/problems.csv`, nosy.url()).toString())).status()).toBe(404);
  });
});
