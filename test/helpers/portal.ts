// Signing in to the portal the way a browser does: open the one-time link (a confirm
// page), then post its form from the portal's own origin; returns the session cookie.
import { expect } from 'vitest';

export async function signInCookie(link: string): Promise<string> {
  const page = await fetch(link, { redirect: 'manual' });
  expect(page.status).toBe(200);
  const res = await fetch(link, { method: 'POST', redirect: 'manual', headers: { Origin: new URL(link).origin, 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' });
  expect(res.status).toBe(302);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}
