// The customer and outbound-webhook pages in Debian's Chromium at 1280 and 390 px: the list
// with search and filters, the detail page with billing, health breakdown, contacts and a
// status change, history.csv and exports; a member sees only the customers they own.
// Screenshots go to test-results/.
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { launchChromium, screenshotDir, signInThrough } from '../helpers/browser.ts';
import { until } from '../helpers/until.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { resetEnvCache } from '../../core/env.ts';
import { freePort } from '../../core/db/local-database.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Contact } from '../../core/models/contact.ts';
import { Activity } from '../../core/models/activity.ts';
import { Customer } from '../../core/models/customer.ts';
import { WebhookEndpoint } from '../../core/models/webhooks.ts';
import { recomputeWorkspaceHealth } from '../../core/health/recompute.ts';

useTestDatabase('customer_pages');
let portal: PortalServer;
let browser: Browser;
let base = '';
const shots = screenshotDir;
let workspaceId = '';
const ownerLink = 'owner';
const memberLink = 'member';
let acmeDisplayId = 0;
let globexDisplayId = 0;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  process.env.APP_URL = base;
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
  browser = await launchChromium();

  const ws = await createWorkspace({ name: 'Book Co', timezone: 'Asia/Tokyo' });
  workspaceId = String(ws._id);
  await inviteMember({ workspaceId, email: 'olivia@book.example', role: 'owner' });
  await inviteMember({ workspaceId, email: 'carl@book.example', role: 'member' });
  const day = 86_400_000;
  const [acme, globex] = await createCustomers(ws._id, [
    { name: 'Acme Corporation', domain: 'acme.example', owner_email: 'carl@book.example', plan: 'Growth', last_activity_at: new Date(Date.now() - 3 * day), billing: { mrr: 140_000, plan: 'Growth', payment_status: 'failing', stripe_customer_id: 'cus_Acme123', stripe_livemode: true, billing_started_at: new Date(Date.now() - 400 * day) } },
    { name: 'Globex', domain: 'globex.example', owner_email: 'olivia@book.example', plan: 'Scale', billing: { mrr: 90_000, plan: 'Scale', payment_status: 'paid', billing_started_at: new Date(Date.now() - 800 * day) } },
    { name: '=HYPERLINK("http://evil.example")', domain: 'formula.example', owner_email: 'olivia@book.example' },
    { name: 'Initech', domain: 'initech.example', status: 'churned' },
    ...Array.from({ length: 60 }, (_, i) => ({ name: `Zeta ${String(i).padStart(2, '0')}`, domain: `zeta${i}.example` })),
  ]);
  acmeDisplayId = acme!.display_id;
  globexDisplayId = globex!.display_id;
  await Contact.create([
    { workspace_id: ws._id, customer_id: acme!._id, name: 'Wile E. Coyote', email: 'wile@acme.example', title: 'VP Ops', is_primary: true },
    { workspace_id: ws._id, customer_id: acme!._id, name: 'Road Runner', email: 'rr@acme.example', title: 'Engineer' },
  ]);
  await Activity.create({ workspace_id: ws._id, customer_id: acme!._id, actor: 'hubspot:0123', actor_type: 'sync', event_type: 'field_changed', field: 'plan', old_value: 'Starter', new_value: '=1+1', at: new Date(Date.now() - day) });
  await recomputeWorkspaceHealth(ws._id);
});

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
  resetEnvCache();
});

/** A fresh browser signed in through a new one-time link (links work once). */
async function signedIn(role: 'owner' | 'member', width: number) {
  const email = role === 'owner' ? 'olivia@book.example' : 'carl@book.example';
  const { link } = await inviteMember({ workspaceId, email, role });
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.setDefaultTimeout(30_000); // as the other browser suites: the full suite loads both cores; waits still fail with what they waited for
  await signInThrough(page, link); // the link only asks to confirm
  return page;
}

describe('customer pages', () => {
  it('lists, searches, filters and pages the book', async () => {
    for (const width of [1280, 390]) {
      const page = await signedIn(ownerLink, width);
      await page.goto(`${base}/customers`);
      await expect(page.locator('h1').first().textContent()).resolves.toBe('Customers');
      const rows = page.locator('table.customers tbody tr');
      expect(await rows.count()).toBe(50); // one page; churned Initech hidden by default
      await expect(page.locator('main').textContent()).resolves.not.toContain('Initech');
      await page.screenshot({ path: path.join(shots, `customers-list-${width}.png`), fullPage: width === 390 });
      await page.close();
    }
    const page = await signedIn(ownerLink, 1280);
    await page.goto(`${base}/customers?page=2`);
    expect(await page.locator('table.customers tbody tr').count()).toBe(13);

    await page.goto(`${base}/customers`);
    await page.fill('input[name=q]', 'acme corp');
    await page.click('button:has-text("Show")');
    await page.waitForURL(/q=acme/);
    await until(async () => (await page.locator('table.customers tbody tr').count()) === 1, 10_000, 'the search result');
    expect(await page.locator('table.customers tbody tr').allTextContents()).toEqual([expect.stringContaining('Acme Corporation')]);

    await page.goto(`${base}/customers?q=initech`); // a search finds churned customers
    expect(await page.locator('table.customers tbody tr').count()).toBe(1);
    await page.goto(`${base}/customers?payment=failing`);
    expect(await page.locator('table.customers tbody tr').allTextContents()).toEqual([expect.stringContaining('Acme')]);
    await page.goto(`${base}/customers?sort=-mrr`);
    await expect(page.locator('table.customers tbody tr').first().textContent()).resolves.toContain('Acme');
    await page.goto(`${base}/customers?bucket=healthy&status=all`);
    const healthy = await page.locator('table.customers tbody tr').allTextContents();
    expect(healthy.some((t) => t.includes('Globex'))).toBe(true);
    const bad = await page.goto(`${base}/customers?status=gone`);
    expect(bad!.status()).toBe(400);
    await page.close();
  });

  it('shows one customer and changes its status with a reason', async () => {
    for (const width of [1280, 390]) {
      const page = await signedIn(ownerLink, width);
      await page.goto(`${base}/customers/${acmeDisplayId}`);
      const main = (await page.locator('main').textContent())!;
      expect(main).toContain('Acme Corporation');
      expect(main).toContain('$1,400');
      expect(main).toContain('Wile E. Coyote');
      expect(main).toContain('Payment status');
      expect(await page.locator('a[href="https://dashboard.stripe.com/customers/cus_Acme123"]').count()).toBe(1);
      await page.screenshot({ path: path.join(shots, `customer-detail-${width}.png`), fullPage: true });
      await page.close();
    }
    const page = await signedIn(ownerLink, 1280);
    await page.goto(`${base}/customers/${acmeDisplayId}`);
    await page.check('input[name=status][value=at_risk]');
    await page.fill('input[name=reason]', 'Champion <b>left</b>');
    await page.click('button:has-text("Save status")');
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('is now at risk');
    expect((await Customer.findOne({ display_id: acmeDisplayId }).lean())!.status_reason).toBe('Champion <b>left</b>');
    await page.reload();
    await expect(page.locator('section[aria-label=Activity]').textContent()).resolves.toContain('olivia@book.example');
    // times in the workspace's timezone, saying which
    await expect(page.locator('section[aria-label=Activity] time').first().textContent()).resolves.toMatch(/GMT\+9$/);
    await page.screenshot({ path: path.join(shots, 'customer-detail-after-status.png'), fullPage: true });

    const csv = await page.request.get(`${base}/customers/${acmeDisplayId}/history.csv`);
    expect(csv.status()).toBe(200);
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe('timestamp,actor,actor_type,event_type,field,old_value,new_value');
    expect(lines[1]).toMatch(/,hubspot:0123,sync,field_changed,plan,Starter,'=1\+1$/);
    expect(lines[2]).toMatch(/,olivia@book\.example,user,status_changed,status,active,at_risk$/);

    const exportCsv = await page.request.get(`${base}/customers/export.csv`);
    const exported = await exportCsv.text();
    expect(exported.split('\n')[0]).toContain('display_id,name,domain');
    expect(exported).toContain(`"'=HYPERLINK(""http://evil.example"")"`);
    expect(exported).toContain('Initech'); // exports cover every status unless filtered
    const exportJson = await (await page.request.get(`${base}/customers/export.json?status=at_risk`)).json();
    expect(exportJson.map((c: any) => c.name)).toEqual(['Acme Corporation']);
    expect((await page.request.get(`${base}/customers/999999`)).status()).toBe(404);
    await page.close();
  });

  it('shows a member only the customers they own', async () => {
    const page = await signedIn(memberLink, 390);
    await page.goto(`${base}/customers?status=all`);
    expect(await page.locator('table.customers tbody tr').allTextContents()).toEqual([expect.stringContaining('Acme Corporation')]);
    await page.screenshot({ path: path.join(shots, 'customers-list-member-390.png'), fullPage: true });
    expect((await page.request.get(`${base}/customers/${globexDisplayId}`)).status()).toBe(404);
    expect((await page.request.get(`${base}/customers/${globexDisplayId}/history.csv`)).status()).toBe(404);
    const exported = await (await page.request.get(`${base}/customers/export.json`)).json();
    expect(exported.map((c: any) => c.name)).toEqual(['Acme Corporation']);
    expect((await page.request.get(`${base}/webhooks`)).status()).toBe(403);
    await page.close();
  });

  it('adds an outbound webhook endpoint and shows its secret once', async () => {
    const page = await signedIn(ownerLink, 1280);
    await page.goto(`${base}/webhooks`);
    await page.fill('input[name=url]', 'http://127.0.0.1:9/never');
    await page.click('button:has-text("Add endpoint")');
    await expect(page.locator('[role=alert]').first().textContent()).resolves.toMatch(/private/);
    await page.check('input[name=allow_private]');
    await page.check('input[value="customer.churned"]');
    await page.click('button:has-text("Add endpoint")');
    const secret = (await page.locator('.secret').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await page.screenshot({ path: path.join(shots, 'webhooks-added-1280.png'), fullPage: true });
    await page.reload();
    await expect(page.locator('main').textContent()).resolves.not.toContain(secret);
    const ep = await WebhookEndpoint.findOne({}).lean();
    await page.goto(`${base}/webhooks/${String(ep!._id)}`);
    await expect(page.locator('section[aria-label=Deliveries]').textContent()).resolves.toContain('webhook.ping');
    await page.setViewportSize({ width: 390, height: 900 });
    await page.screenshot({ path: path.join(shots, 'webhook-endpoint-390.png'), fullPage: true });
    await page.close();
  });
});
