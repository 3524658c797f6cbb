// OAuth connect flows through the portal, against the HubSpot and Stripe fakes: only a
// signed-in admin can start one, the state is signed, the code is exchanged through
// the configured base URLs, and a second customer source is refused with a reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.ts';
import { resetEnvCache } from '../../core/env.ts';
import { freePort } from '../../core/db/local-database.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { Connection } from '../../core/models/connection.ts';
import { signInCookie } from '../helpers/portal.ts';

useTestDatabase('connect_oauth');
const saved = { ...process.env };
let hubspot: FakeHubspot;
let stripe: FakeStripe;
let portal: PortalServer;
let base = '';
let adminCookie = '';
let memberCookie = '';
let workspaceId = '';

const signIn = signInCookie;

beforeAll(async () => {
  hubspot = await startFakeHubspot({ clientId: 'hs-client', clientSecret: 'hs-secret', portalId: 4242 });
  stripe = await startFakeStripe();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  Object.assign(process.env, {
    APP_URL: base,
    HUBSPOT_CLIENT_ID: 'hs-client',
    HUBSPOT_CLIENT_SECRET: 'hs-secret',
    HUBSPOT_API_BASE_URL: hubspot.url,
    HUBSPOT_AUTH_URL: `${hubspot.url}/oauth/authorize`,
    STRIPE_CLIENT_ID: stripe.clientId,
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_API_BASE_URL: stripe.url,
    STRIPE_CONNECT_BASE_URL: stripe.url,
  });
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
  const ws = await createWorkspace({ name: 'Connectors' });
  workspaceId = String(ws._id);
  adminCookie = await signIn((await inviteMember({ workspaceId, email: 'owner@acme.test', role: 'owner' })).link);
  memberCookie = await signIn((await inviteMember({ workspaceId, email: 'csm@acme.test', role: 'member' })).link);
});

afterAll(async () => {
  await portal?.stop();
  await hubspot?.close();
  await stripe?.close();
  process.env = saved;
  resetEnvCache();
});

// The browser's connect nonce cookie, per session cookie, as a browser would keep it.
const nonces = new Map<string, string>();
async function get(path: string, cookie?: string) {
  const jar = cookie ? [cookie, nonces.get(cookie)].filter(Boolean).join('; ') : '';
  const res = await fetch(`${base}${path}`, { redirect: 'manual', headers: jar ? { cookie: jar } : {} });
  const set = res.headers.get('set-cookie');
  if (cookie && set?.startsWith('__pivotal_connect=')) nonces.set(cookie, set.split(';')[0]!);
  return res;
}

describe('OAuth connect', () => {
  it('refuses visitors and members: only owners and admins connect providers', async () => {
    expect((await get('/connect/hubspot')).status).toBe(401);
    expect((await get('/connect/hubspot', memberCookie)).status).toBe(403);
  });

  it('connects HubSpot as the customer source', async () => {
    const start = await get('/connect/hubspot', adminCookie);
    expect(start.status).toBe(302);
    const consent = new URL(start.headers.get('location')!);
    expect(consent.origin + consent.pathname).toBe(`${hubspot.url}/oauth/authorize`);
    expect(consent.searchParams.get('client_id')).toBe('hs-client');
    const redirectUri = consent.searchParams.get('redirect_uri')!;
    expect(redirectUri).toBe(`${base}/connect/hubspot/callback`);

    const code = hubspot.issueAuthCode({ redirectUri });
    const done = await get(`/connect/hubspot/callback?code=${code}&state=${encodeURIComponent(consent.searchParams.get('state')!)}`, adminCookie);
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toMatch(/^\/\?connected=hubspot&connection=[0-9a-f]{24}$/);
    const conn = await Connection.findOne({ workspace_id: workspaceId, provider: 'hubspot' }).lean();
    expect(conn).toMatchObject({ role: 'customer_source', auth_type: 'oauth', state: 'connected', external_account_id: '4242' });
    expect(conn!.credentials).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
  });

  it('never shows the authorization code or keys in an error page', async () => {
    const start = await get('/connect/stripe?role=billing_signal', adminCookie);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const code = stripe.issueAuthCode('acct_other', 'live');
    const res = await get(`/connect/stripe/callback?code=${code}&state=${encodeURIComponent(state)}`, adminCookie);
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('refused the authorization code');
    expect(text).not.toContain(code);
  });

  it('rejects a forged state and a cancelled consent without creating anything', async () => {
    const before = await Connection.countDocuments();
    const forged = await get('/connect/hubspot/callback?code=abc&state=eyJ3IjoieCJ9.forged', adminCookie);
    expect(forged.status).toBe(401);
    expect(await forged.text()).toContain('This connect request is not valid');
    const start = await get('/connect/stripe', adminCookie);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const cancelled = await get(`/connect/stripe/callback?error=access_denied&error_description=The+user+denied&state=${encodeURIComponent(state)}`, adminCookie);
    expect(cancelled.status).toBe(400);
    expect(await cancelled.text()).toContain('did not authorize Pivotal: The user denied');
    expect(await Connection.countDocuments()).toBe(before);
  });

  it('refuses Stripe as a second customer source, explaining why', async () => {
    const start = await get('/connect/stripe', adminCookie);
    const consent = new URL(start.headers.get('location')!);
    const code = stripe.issueAuthCode('acct_source1', 'test');
    const res = await get(`/connect/stripe/callback?code=${code}&state=${encodeURIComponent(consent.searchParams.get('state')!)}`, adminCookie);
    const text = await res.text();
    expect(text).toContain('already has a customer source');
    expect(res.status).toBe(409);
  });

  it('connects Stripe read-only as a billing signal next to HubSpot, in test mode', async () => {
    const start = await get('/connect/stripe?role=billing_signal&mode=test', adminCookie);
    const consent = new URL(start.headers.get('location')!);
    expect(consent.origin).toBe(new URL(stripe.url).origin);
    expect(consent.searchParams.get('scope')).toBe('read_only');
    const code = stripe.issueAuthCode('acct_billing1', 'test', { scope: 'read_only' });
    const done = await get(`/connect/stripe/callback?code=${code}&state=${encodeURIComponent(consent.searchParams.get('state')!)}`, adminCookie);
    expect(done.status).toBe(302);
    const conn = await Connection.findOne({ workspace_id: workspaceId, provider: 'stripe' }).lean();
    expect(conn).toMatchObject({ role: 'billing_signal', mode: 'test', external_account_id: 'acct_billing1', auth_type: 'oauth' });
  });

  it('finishes a connect only for the admin who started it, in their browser, once (no hijack, no replay)', async () => {
    const other = await createWorkspace({ name: 'Victim Co' });
    const victimCookie = await signIn((await inviteMember({ workspaceId: String(other._id), email: 'victim@victim.test', role: 'owner' })).link);
    const before = await Connection.countDocuments();
    // The attacker (admin of this workspace) starts a connect and sends the consent URL to a victim.
    const start = await get('/connect/stripe?role=billing_signal', adminCookie);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const code = stripe.issueAuthCode('acct_victim', 'live', { scope: 'read_only' });
    const hijack = await get(`/connect/stripe/callback?code=${code}&state=${encodeURIComponent(state)}`, victimCookie);
    expect(hijack.status).toBe(401);
    expect(await hijack.text()).toContain('started in another browser or by someone else');
    // Nobody signed in: refused before anything is exchanged.
    expect((await fetch(`${base}/connect/stripe/callback?code=${code}&state=${encodeURIComponent(state)}`, { redirect: 'manual' })).status).toBe(401);
    expect(await Connection.countDocuments()).toBe(before);

    // The starting admin's own callback works once; concurrent and later replays find the state used.
    const replayCookie = await signIn((await inviteMember({ workspaceId: String((await createWorkspace({ name: 'Replay Co' }))._id), email: 'owner@replay.test', role: 'owner' })).link);
    const start2 = await get('/connect/stripe?role=billing_signal&mode=test', replayCookie);
    const state2 = new URL(start2.headers.get('location')!).searchParams.get('state')!;
    const codes = [0, 1, 2].map(() => stripe.issueAuthCode('acct_billing_live', 'test', { scope: 'read_only' }));
    const results = await Promise.all(codes.map((c) => get(`/connect/stripe/callback?code=${c}&state=${encodeURIComponent(state2)}`, replayCookie)));
    const bodies = await Promise.all(results.map(async (r) => `${r.status} ${r.status === 302 ? "" : await r.text()}`));
    expect(results.map((r) => r.status).sort(), bodies.join("\n")).toEqual([302, 401, 401]);
    expect(await Connection.countDocuments({ external_account_id: 'acct_billing_live' })).toBe(1);
    expect(await Connection.countDocuments({ workspace_id: other._id })).toBe(0);
  });

  it('says Salesforce OAuth needs the connected app configured (the flow itself: salesforce-connect.test.ts)', async () => {
    const res = await get('/connect/salesforce', adminCookie);
    expect(res.status).toBe(503);
    const page = await res.text();
    expect(page).toMatch(/Salesforce(<!-- -->)? OAuth is not configured/);
    expect(page).toContain('SALESFORCE_CLIENT_ID');
  });
});
