// `npm run demo` as a newcomer runs it: it starts with the bundled stand-ins already
// connected and synced, prints a sign-in link, and its Slack preview answers `/pivotal acme`
// with the bot's real reply (a signed request to the bot, the reply read from the fake
// Slack's response_url). Ctrl-C (SIGINT) stops it.
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { launchChromium, screenshotDir, signInThrough } from '../helpers/browser.ts';
import { freePort } from '../../core/db/local-database.ts';
import { repoRoot } from '../../core/paths.ts';

let demo: ChildProcess | undefined;
let browser: Browser | undefined;
const shots = screenshotDir;

afterAll(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null) demo.kill('SIGKILL');
});

describe('npm run demo', () => {
  it('starts connected and synced, and the Slack preview answers /pivotal acme', async () => {
    const [port, slackPort, dbPort] = [await freePort(), await freePort(), await freePort()];
    const output: string[] = [];
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), SLACK_PORT: String(slackPort), PIVOTAL_DB_PORT: String(dbPort), APP_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'warn', NODE_ENV: 'development' };
    for (const k of ['MONGODB_URI', 'SESSION_SECRET', 'ENCRYPTION_KEY', 'PIVOTAL_DATA_DIR']) delete env[k];
    demo = spawn(process.execPath, [path.join(repoRoot, 'scripts/demo.ts')], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    demo.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    await until(async () => output.join('').includes('Pivotal demo is ready') || demo!.exitCode !== null, 90_000, 'the demo to start');
    const text = output.join('');
    expect(text).toContain('Pivotal demo is ready');
    const link = /(http:\/\/127\.0\.0\.1:\d+\/login\/\S+)/.exec(text)![1]!;

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    await signInThrough(page, link);
    const rows = await page.locator('table.grid tbody tr').allTextContents();
    expect(rows.join('\n')).toMatch(/HubSpot/);
    expect(rows.join('\n')).toMatch(/Stripe \(test\)/);
    await page.goto(`http://127.0.0.1:${port}/demo/slack`);
    await page.getByRole('button', { name: 'Send' }).click();
    const reply = page.getByRole('region', { name: 'Bot reply' });
    await reply.waitFor({ timeout: 20_000 });
    const said = await reply.textContent();
    expect(said).toContain('Acme Corp');
    expect(said).toContain('acme.com');
    await page.screenshot({ path: path.join(shots, 'portal-demo-slack-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(shots, 'portal-demo-slack-390.png'), fullPage: true });

    demo.kill('SIGINT');
    await until(async () => demo!.exitCode !== null, 20_000, 'the demo to stop on Ctrl-C');
  }, 150_000);
});
