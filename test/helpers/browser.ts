// Browser steps shared by the portal's Chromium tests: launching Chromium, screenshots at
// 1280 and 390 px, signing in through a one-time link and waiting for a client-side
// navigation to show its page. Remix changes the URL one render
// before the new page is in the DOM, so a wait on the URL alone can read the old page.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { repoRoot } from '../../core/paths.ts';

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

/** Where the browser suites save their screenshots (looked at before a page is called done). */
export const screenshotDir = path.join(repoRoot, 'test-results');

/** Debian's Chromium, headless, with the flags every browser suite runs it with. */
export async function launchChromium(): Promise<Browser> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The page as a person sees it, on a laptop and on a phone. */
export async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(screenshotDir, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  // Responsive: nothing makes the page wider than the phone (wide tables scroll inside their cards).
  expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at 390 px`).toBeLessThanOrEqual(390);
  await page.screenshot({ path: path.join(screenshotDir, `${name}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}
