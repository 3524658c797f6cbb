// The portal as an attacker or a careless client meets it over HTTP: sign-in links that
// link previewers cannot burn and that sign in once under concurrency, sign-out that ends
// the session server-side, security headers, cross-site posts refused with a 403, bad
// webhook bodies answered 4xx, and error pages without the router's internals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { signInCookie } from '../helpers/portal.ts';
import { resetEnvCache } from '../../core/env.ts';
import { freePort } from '../../core/db/local-database.ts';
import { startPortal, type PortalServer } from '../../portal/server.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { inviteMember } from '../../core/auth/login.ts';
import { PortalSession } from '../../core/models/auth.ts';

useTestDatabase('portal_security');
const saved = { ...process.env };
let portal: PortalServer;
let base = '';
let workspaceId = '';

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  process.env.APP_URL = base;
  resetEnvCache();
  portal = await startPortal({ port, host: '127.0.0.1' });
  workspaceId = String((await createWorkspace({ name: 'Guarded' }))._id);
  await inviteMember({ workspaceId, email: 'owner@guarded.test', role: 'owner' });
});

afterAll(async () => {
  await portal?.stop();
  process.env = saved;
  resetEnvCache();
});

const post = (path: string, init: { cookie?: string; origin?: string | null; body?: string; headers?: Record<string, string> } = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(init.cookie ? { cookie: init.cookie } : {}), ...(init.origin ? { Origin: init.origin } : {}), ...init.headers },
    body: init.body ?? '',
  });

describe('sign-in links', () => {
  it('are not used up by opening them; exactly one of concurrent confirmations signs in', async () => {
    const { link } = await inviteMember({ workspaceId, email: 'dana@guarded.test', role: 'admin' });
    const path = new URL(link).pathname;
    for (let i = 0; i < 3; i++) {
      const page = await fetch(link, { headers: { 'User-Agent': 'Slackbot-LinkExpanding 1.0' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('signs you in as dana@guarded.test');
    }
    const results = await Promise.all(Array.from({ length: 8 }, () => post(path, { origin: base })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([302, 401, 401, 401, 401, 401, 401, 401]);
    expect(await PortalSession.countDocuments({ email: 'dana@guarded.test' })).toBe(1);
    expect((await fetch(link)).status).toBe(401);
  });

  it('sign-out ends the session on the server: a copy of the cookie no longer works', async () => {
    const cookie = await signInCookie((await inviteMember({ workspaceId, email: 'erin@guarded.test', role: 'member' })).link);
    const home = async () => (await fetch(`${base}/`, { headers: { cookie } })).text();
    expect(await home()).toContain('You are signed in as erin@guarded.test (member)');
    const out = await fetch(`${base}/logout`, { redirect: 'manual', headers: { cookie } });
    expect(out.status).toBe(302);
    expect(out.headers.get('set-cookie')).toMatch(/^__pivotal=;/);
    expect(await home()).not.toContain('You are signed in');
    expect(await PortalSession.countDocuments({ email: 'erin@guarded.test' })).toBe(0);
  });
});

describe('headers and cross-site requests', () => {
  it('sends a nonce-based CSP that forbids framing, and no HSTS over plain http', async () => {
    const res = await fetch(`${base}/`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(csp)![1]!;
    const html = await res.text();
    expect(html).toContain(`nonce="${nonce}"`);
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses a cross-site post, with or without an Origin header, with a 403 that says why', async () => {
    const cookie = await signInCookie((await inviteMember({ workspaceId, email: 'frank@guarded.test', role: 'admin' })).link);
    for (const origin of ['https://evil.example', null]) {
      const res = await post('/billing', { cookie, origin, body: 'intent=split&match=aaaaaaaaaaaaaaaaaaaaaaaa', headers: origin ? {} : { 'Sec-Fetch-Site': 'cross-site' } });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('sent from another site');
    }
  });

  it('answers oversized or undecodable webhook bodies with 4xx, never 5xx', async () => {
    const big = await fetch(`${base}/webhooks/stripe/aaaaaaaaaaaaaaaaaaaaaaaa`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"x":"${'a'.repeat(1_200_000)}"}` });
    expect(big.status).toBe(413);
    expect(await big.text()).toBe('The request body is too large.');
    const encoded = await fetch(`${base}/webhooks/hubspot`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'x-bogus' }, body: '[]' });
    expect(encoded.status).toBe(415);
  });

  it('error pages never show the router\'s own messages', async () => {
    const missing = await fetch(`${base}/no/such/page`);
    expect(missing.status).toBe(404);
    const shown = async (res: Response) => /<main>([\s\S]*)<\/main>/.exec(await res.text())![1]!;
    const text = await shown(missing);
    expect(text).toContain('Not found');
    expect(text).not.toMatch(/No route matches/);
    const wrongMethod = await post('/', { origin: base });
    expect(wrongMethod.status).toBe(405);
    expect(await shown(wrongMethod)).not.toMatch(/action|routes\//);
  });
});

describe('over https', () => {
  it('adds HSTS and upgrade-insecure-requests', async () => {
    const port = await freePort();
    process.env.APP_URL = 'https://pivotal.example.com';
    resetEnvCache();
    const secure = await startPortal({ port, host: '127.0.0.1' });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.headers.get('strict-transport-security')).toContain('max-age=31536000');
      expect(res.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
    } finally {
      await secure.stop();
      process.env.APP_URL = base;
      resetEnvCache();
    }
  });
});
