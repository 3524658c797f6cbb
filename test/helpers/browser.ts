// Browser steps shared by the portal's Chromium tests: signing in through a one-time link and
// waiting for a client-side navigation to show its page. Remix changes the URL one render
// before the new page is in the DOM, so a wait on the URL alone can read the old page.
import type { Page } from 'playwright-core';

/** Opens a one-time sign-in link (a confirm page), presses its button and waits for the page it lands on. */
export async function signInThrough(page: Page, link: string): Promise<void> {
  await page.goto(link);
  const signIn = page.getByRole('button', { name: 'Sign in', exact: true });
  await signIn.click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login/'));
  await signIn.waitFor({ state: 'detached' });
}

/** Waits until the page at `url` is rendered, known by its main heading reading exactly `heading`. */
export async function arrivedAt(page: Page, url: Parameters<Page['waitForURL']>[0], heading: string): Promise<void> {
  await page.waitForURL(url);
  await page.locator('h1').filter({ hasText: new RegExp(`^\\s*${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) }).waitFor();
}
