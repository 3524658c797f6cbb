// `npm start` as a person runs it: the embedded database comes up, the portal and the
// bot answer their probes, the first start prints a sign-in link that works, and
// Ctrl-C (SIGINT) stops everything including the database.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabaseUri } from '../helpers/db.ts';
import { signInCookie } from '../helpers/portal.ts';
import { canConnect, freePort } from '../../core/db/local-database.ts';
import { repoRoot } from '../../core/paths.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pivotal-start-'));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function startPivotal(env: Record<string, string>) {
  const output: string[] = [];
  const proc = spawn(process.execPath, [path.join(repoRoot, 'scripts/start.ts')], {
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'warn', MONGODB_URI: '', PIVOTAL_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const waitForOutput = async (pattern: RegExp, timeoutMs = 45_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(output.join(''))) {
      if (proc.exitCode !== null) throw new Error(`exited early: ${output.join('')}`);
      if (Date.now() > deadline) throw new Error(`timed out; output so far: ${output.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return output.join('');
  };
  return { proc, output, exited, waitForOutput };
}

describe('npm start', () => {
  it('serves the probes on both ports, prints the URL and a working sign-in link, and stops cleanly on Ctrl-C', async () => {
    const [port, slackPort, dbPort] = [await freePort(), await freePort(), await freePort()];
    // No APP_URL: the printed URL and the sign-in link follow PORT.
    const appUrl = `http://localhost:${port}`;
    const run = startPivotal({ PORT: String(port), SLACK_PORT: String(slackPort), PIVOTAL_DB_PORT: String(dbPort), APP_URL: '' });
    child = run.proc;
    const out = await run.waitForOutput(/sign in as the workspace owner[^\n]*\n\s+(\S+)/);
    expect(out).toContain(`Pivotal portal: ${appUrl}`);
    expect(out).toContain('Slack not configured');

    for (const p of [port, slackPort]) {
      const health = await fetch(`http://127.0.0.1:${p}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${p}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ok: true, database: 'ok' });
    }
    expect(await canConnect(dbPort)).toBe(true);

    // the one-time link signs the owner in once
    const link = /sign in as the workspace owner[^\n]*\n\s+(\S+)/.exec(out)![1]!;
    expect(link.startsWith(`${appUrl}/login/`)).toBe(true);
    const cookie = await signInCookie(link.replace('localhost', '127.0.0.1'));
    const home = await (await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } })).text();
    expect(home).toContain('You are signed in as admin@localhost.localdomain (owner)');
    expect((await fetch(link.replace('localhost', '127.0.0.1'), { redirect: 'manual' })).status).toBe(401);

    run.proc.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(await canConnect(dbPort)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'db', 'instance.json'))).toBe(false);
  });

  it('fails fast with one line per bad environment variable', async () => {
    const run = startPivotal({ PORT: 'abc', APP_URL: 'not a url', PIVOTAL_ROLES: 'portal,cron' });
    expect(await run.exited).toBe(1);
    const out = run.output.join('');
    expect(out).toMatch(/PORT: /);
    expect(out).toMatch(/APP_URL: must be an http\(s\) URL/);
    expect(out).toMatch(/PIVOTAL_ROLES: must be a comma list of portal, bot, worker/);
  });

  it('refuses to serve an https APP_URL outside production', async () => {
    const run = startPivotal({ APP_URL: 'https://pivotal.example.com', PIVOTAL_ROLES: 'portal' });
    expect(await run.exited).toBe(1);
    expect(run.output.join('')).toContain('NODE_ENV: must be "production" when APP_URL is https');
  });

  it('in production, the first start says how to create the owner\'s sign-in link instead of printing one', async () => {
    const port = await freePort();
    const run = startPivotal({
      NODE_ENV: 'production', PIVOTAL_ROLES: 'portal', PORT: String(port), APP_URL: `http://localhost:${port}`,
      MONGODB_URI: testDatabaseUri(`t_start_production_${Date.now()}`),
    });
    child = run.proc;
    const out = await run.waitForOutput(/npx pivotal admin invite --workspace [0-9a-f]{24}/);
    expect(out).not.toContain('/login/');
    run.proc.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });

  it('refuses to start in production without its secrets', async () => {
    const run = startPivotal({ NODE_ENV: 'production', SESSION_SECRET: '', ENCRYPTION_KEY: '' });
    expect(await run.exited).toBe(1);
    const out = run.output.join('');
    for (const v of ['MONGODB_URI', 'SESSION_SECRET', 'ENCRYPTION_KEY']) expect(out).toContain(`${v}: is required in production`);
  });
});
