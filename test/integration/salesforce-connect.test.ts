// Connecting Salesforce the two ways CONTRACT.md promises: the portal's OAuth web-server
// flow (/connect/salesforce → the login host's consent → callback) against the fake's
// login host, and `pivotal connect salesforce` as a subprocess, checked with one call;
// the source filter saved from the connection page, checked against describe first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { signInCookie } from '../helpers/portal.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../fakes/salesforce.ts';
import { resetEnvCache } from '../../core/env.ts';
import { freePort } from '../../core/db/local-database.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { Connection } from '../../core/models/connection.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { decryptJson } from '../../core/crypto.ts';
import type { Credentials } from '../../core/connectors/connector.ts';

const db = useTestDatabase('salesforce_connect');
const saved = { ...process.env };
let sf: FakeSalesforce;
let portal: PortalServer;
let base = '';
const sfEnv = () => ({ MONGODB_URI: db.uri, SALESFORCE_CLIENT_ID: 'sf-cid', SALESFORCE_CLIENT_SECRET: 'sf-secret', SALESFORCE_LOGIN_URL: sf.url });

beforeAll(async () => {
  sf = await startFakeSalesforce({ clientId: 'sf-cid', clientSecret: 'sf-secret' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  Object.assign(process.env, { APP_URL: base, SALESFORCE_CLIENT_ID: 'sf-cid', SALESFORCE_CLIENT_SECRET: 'sf-secret', SALESFORCE_LOGIN_URL: sf.url });
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
});

afterAll(async () => {
  await portal?.stop();
  await sf?.close();
  process.env = saved;
  resetEnvCache();
});

async function adminCookie(name: string): Promise<{ cookie: string; workspaceId: string }> {
  const ws = await createWorkspace({ name });
  const { link } = await inviteMember({ workspaceId: String(ws._id), email: 'owner@acme.test', role: 'owner' });
  return { cookie: await signInCookie(link), workspaceId: String(ws._id) };
}

describe('Salesforce OAuth from the portal', () => {
  it('sends the admin to the login host and stores the tokens and instance URL it grants', async () => {
    const { cookie, workspaceId } = await adminCookie('OAuth org');
    const start = await fetch(`${base}/connect/salesforce`, { redirect: 'manual', headers: { cookie } });
    expect(start.status).toBe(302);
    // The browser keeps the connect nonce cookie the start set; the callback needs it.
    const jar = `${cookie}; ${start.headers.get('set-cookie')!.split(';')[0]!}`;
    const consent = new URL(start.headers.get('location')!);
    expect(consent.origin + consent.pathname).toBe(`${sf.url}/services/oauth2/authorize`);
    expect(consent.searchParams.get('client_id')).toBe('sf-cid');
    expect(consent.searchParams.get('redirect_uri')).toBe(`${base}/connect/salesforce/callback`);
    // The fake's consent screen approves at once and redirects back with a code.
    const approved = await fetch(consent, { redirect: 'manual' });
    expect(approved.status).toBe(302);
    const callback = new URL(approved.headers.get('location')!);
    const done = await fetch(callback, { redirect: 'manual', headers: { cookie: jar } });
    expect(done.status).toBe(302);
    const conn = (await Connection.findOne({ workspace_id: workspaceId, provider: 'salesforce' }).lean())!;
    expect(conn).toMatchObject({ role: 'customer_source', auth_type: 'oauth', state: 'connected', external_account_id: '00D5e000000FAKEEAA' });
    const creds = decryptJson<Credentials>(conn.credentials!);
    expect(creds).toMatchObject({ instanceUrl: sf.url });
    expect(creds.refreshToken).toBeTruthy();
    // A replayed callback is refused with a readable page, and nothing else is created.
    const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: jar } });
    expect(replay.status).toBe(401);
    expect(await Connection.countDocuments({ workspace_id: workspaceId })).toBe(1);
  });
});

describe('pivotal connect salesforce', () => {
  it('connects with a token checked by one identity call and prints the connection id', async () => {
    const ws = await createWorkspace({ name: 'CLI org' });
    const t = sf.issueToken();
    const r = await runCli(['connect', 'salesforce', '--workspace', String(ws._id), '--instance-url', `${sf.url}/some/path`, '--token', t.accessToken, '--refresh-token', 'env:SF_REFRESH', '--json'], { ...sfEnv(), SF_REFRESH: t.refreshToken! });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out).toMatchObject({ provider: 'salesforce', state: 'connected', organization_id: '00D5e000000FAKEEAA' });
    const conn = (await Connection.findById(out.connection_id).lean())!;
    expect(decryptJson<Credentials>(conn.credentials!)).toMatchObject({ accessToken: t.accessToken, refreshToken: t.refreshToken, instanceUrl: sf.url });
  });

  it('refuses a bad token or URL with one line, saving nothing', async () => {
    const ws = await createWorkspace({ name: 'CLI bad' });
    const bad = await runCli(['connect', 'salesforce', '--workspace', String(ws._id), '--instance-url', sf.url, '--token', '00D!not-a-session'], sfEnv());
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^error: Salesforce did not accept these credentials/);
    expect(bad.stderr).not.toContain('00D!not-a-session');
    const url = await runCli(['connect', 'salesforce', '--workspace', String(ws._id), '--instance-url', 'yourcompany', '--token', 'x'], sfEnv());
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/^error: --instance-url must be a URL/);
    const missing = await runCli(['connect', 'salesforce', '--workspace', String(ws._id), '--token', 'x'], sfEnv());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--instance-url');
    expect(await Connection.countDocuments({ workspace_id: ws._id })).toBe(0);
  });

  it('drives a Salesforce book through the CLI: validate, full, a poll, and a quota pause in sync status', async () => {
    const ws = await createWorkspace({ name: 'CLI book' });
    for (let i = 0; i < 30; i++) sf.addAccount({ Name: `Cli Account ${i}`, Website: i === 0 ? null : `cli${i}.example.net`, Type: 'Customer - Direct' });
    const t = sf.issueToken({ withRefresh: false });
    const cli = (args: string[]) => runCli([...args, '--json'], sfEnv());
    const id = (await cli(['connect', 'salesforce', '--workspace', String(ws._id), '--instance-url', sf.url, '--token', t.accessToken])).json().connection_id;
    const v = await cli(['sync', 'validate', '--connection', id, '--wait']);
    expect(v.code).toBe(0);
    expect(JSON.stringify(v.json().problems)).toContain('Cli Account 0');
    const full = await cli(['sync', 'full', '--connection', id, '--wait']);
    expect(full.json()).toMatchObject({ status: 'succeeded' });
    expect(full.json().counts.created).toBeGreaterThanOrEqual(29);
    const listed = (await cli(['customers', 'list', '--workspace', String(ws._id)])).json();
    expect(listed.map((c: { domain: string }) => c.domain)).toContain('cli7.example.net');

    sf.setDailyLimit(sf.usage());
    const poll = await cli(['sync', 'incremental', '--connection', id, '--wait']);
    expect(poll.json()).toMatchObject({ status: 'paused' });
    const status = (await cli(['sync', 'status', '--connection', id])).json();
    expect(status.state).toBe('connected');
    expect(status.paused_until).toBeTruthy();
    expect(status.warnings.join(' ')).toContain('salesforce API request quota is used up');
    sf.setDailyLimit(Number.MAX_SAFE_INTEGER);
  }, 120_000);
});

describe('the Salesforce source filter, checked when saved (portal and CLI)', () => {
  it('is checked against describe when saved: a bad field, operator or value is refused by name and nothing is saved', async () => {
    const { cookie, workspaceId } = await adminCookie('Filter org');
    const t = sf.issueToken();
    const conn = await connectSource({ workspaceId, provider: 'salesforce', authType: 'oauth', credentials: { accessToken: t.accessToken, refreshToken: t.refreshToken, instanceUrl: sf.url }, settings: {} });
    const save = (rows: [string, string, string][]) => {
      const body = new URLSearchParams({ intent: 'settings', writeback: 'on' });
      for (const [field, operator, value] of rows) {
        body.append('filter_field', field);
        body.append('filter_operator', operator);
        body.append('filter_value', value);
      }
      return fetch(`${base}/connections/${String(conn._id)}?_data=routes/connections.$id`, { method: 'POST', redirect: 'manual', headers: { cookie, Origin: base, 'Content-Type': 'application/x-www-form-urlencoded' }, body });
    };
    const refused = async (rows: [string, string, string][], ...parts: string[]) => {
      const res = await save(rows);
      expect(res.status).toBe(400);
      const { message } = (await res.json()) as { message: string };
      for (const p of parts) expect(message).toContain(p);
      expect((await Connection.findById(conn._id).lean())!.settings?.filter ?? null).toBeNull();
    };
    await refused([['Nope__c', '=', 'x']], 'no field Nope__c');
    await refused([['Type', 'contains', 'Customer']], 'operator must be one of', 'condition 1');
    await refused([['NumberOfEmployees', '>', 'lots']], 'NumberOfEmployees (int) needs a number, not "lots"', 'NumberOfEmployees > "lots"');
    await refused([['Type', '=', 'Custmer - Direct']], '"Custmer - Direct" is not a value of Type', '"Customer - Direct"');
    await refused([['Type', 'in', 'Customer - Direct'], ['CreatedDate', '>=', 'last week']], 'CreatedDate (datetime) needs a date');

    const ok = await save([['Type', 'in', 'Customer - Direct, Customer - Channel'], ['NumberOfEmployees', '>=', '10'], ['', '=', '']]);
    expect(ok.status).toBe(200);
    expect((await Connection.findById(conn._id).lean())!.settings?.filter).toEqual([
      { field: 'Type', operator: 'in', value: ['Customer - Direct', 'Customer - Channel'] },
      { field: 'NumberOfEmployees', operator: '>=', value: '10' },
    ]);
    const page = await (await fetch(`${base}/connections/${String(conn._id)}`, { headers: { cookie } })).text();
    expect(page).toContain('Which Accounts are customers');
    expect(page).toContain('value="Customer - Direct, Customer - Channel"');
  });

  it('is checked the same way when set from the CLI: one error line naming the condition, nothing saved', async () => {
    const ws = await createWorkspace({ name: 'CLI filter org' });
    const t = sf.issueToken();
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'salesforce', authType: 'oauth', credentials: { accessToken: t.accessToken, refreshToken: t.refreshToken, instanceUrl: sf.url }, settings: {} });
    const cli = (...args: string[]) => runCli(['connections', 'filter', '--connection', String(conn._id), ...args], sfEnv());
    const bad = await cli('--set', JSON.stringify([{ field: 'AnnualRevenue', operator: 'like', value: '1%' }]));
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^error: Salesforce source filter: like works on text fields, not AnnualRevenue \(in AnnualRevenue like "1%"\)/);
    expect((await Connection.findById(conn._id).lean())!.settings?.filter ?? null).toBeNull();
    const ok = await cli('--set', JSON.stringify({ field: 'AnnualRevenue', operator: '>=', value: 1000 }), '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json()).toMatchObject({ filter: { field: 'AnnualRevenue', operator: '>=', value: 1000 } });
    expect((await Connection.findById(conn._id).lean())!.settings?.filter).toEqual({ field: 'AnnualRevenue', operator: '>=', value: 1000 });
    expect((await cli('--clear')).code).toBe(0);
    expect((await Connection.findById(conn._id).lean())!.settings?.filter ?? null).toBeNull();
  });
});
