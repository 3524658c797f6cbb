// The connect and sync commands as an operator runs them: subprocesses against the
// HubSpot fake and the real engine, with and without a worker process running.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { repoRoot } from '../../core/paths.ts';

const db = useTestDatabase('sync_cli');
let fake: FakeHubspot;
let env: Record<string, string>;
let workspaceId = '';
let connectionId = '';
let worker: ChildProcess | undefined;

const cli = (args: string[]) => runCli(args, env);

beforeAll(async () => {
  fake = await startFakeHubspot({ searchRateLimitPerSec: 0 });
  fake.addPrivateAppToken('pat-cli');
  fake.createCompany({ name: 'Acme', domain: 'WWW.Acme.com' });
  fake.createCompany({ name: 'Globex', domain: 'https://globex.com/' });
  fake.createCompany({ name: 'No Domain Inc', domain: '' });
  env = { MONGODB_URI: db.uri, HUBSPOT_API_BASE_URL: fake.url };
  workspaceId = (await cli(['workspace', 'create', '--name', 'CLI Sync'])).stdout.trim();
});

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await fake?.close();
});

describe('connect hubspot and sync', () => {
  it('connects with a private-app token and refuses a second customer source', async () => {
    const r = await cli(['connect', 'hubspot', '--workspace', workspaceId, '--token', 'pat-cli', '--json']);
    expect(r.code).toBe(0);
    connectionId = r.json().connection_id;
    expect(connectionId).toMatch(/^[0-9a-f]{24}$/);
    const again = await cli(['connect', 'hubspot', '--workspace', workspaceId, '--token', 'pat-cli']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/error: This workspace already has a customer source/);
    const missing = await cli(['connect', 'hubspot', '--workspace', workspaceId]);
    expect(missing.stderr).toMatch(/error: --token is required/);
  });

  it('validates without writing, then runs a full sync in-process with --wait', async () => {
    const v = await cli(['sync', 'validate', '--connection', connectionId, '--wait', '--json']);
    expect(v.code).toBe(0);
    expect(v.json().kind).toBe('validate');
    expect(JSON.stringify(v.json().problems)).toContain('No Domain Inc');
    expect((await cli(['customers', 'list', '--workspace', workspaceId, '--json'])).json()).toEqual([]);

    const full = await cli(['sync', 'full', '--connection', connectionId, '--wait', '--json']);
    expect(full.code).toBe(0);
    const summary = full.json();
    expect(summary.status).toBe('succeeded');
    for (const k of ['created', 'updated', 'unchanged', 'matched', 'unmatched', 'skipped', 'ambiguous', 'errors']) expect(typeof summary.counts[k]).toBe('number');
    const list = (await cli(['customers', 'list', '--workspace', workspaceId, '--json'])).json();
    expect(list.map((c: any) => c.domain).sort()).toContain('acme.com');
    expect(list.map((c: any) => c.domain)).toContain('globex.com');
  });

  it('reports status and open errors', async () => {
    const s = await cli(['sync', 'status', '--connection', connectionId, '--json']);
    expect(s.code).toBe(0);
    expect(s.json()).toMatchObject({ state: 'connected' });
    expect(s.json().last_full_sync_at).toBeTruthy();
    const errors = await cli(['sync', 'errors', '--connection', connectionId, '--format', 'csv']);
    expect(errors.code).toBe(0);
    const bad = await cli(['sync', 'status', '--connection', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error: connection "nope" is not a valid id/);
  });

  it('hands --wait work to a running worker', async () => {
    worker = spawn(process.execPath, [path.join(repoRoot, 'scripts/start.ts')], {
      env: { ...process.env, ...env, PIVOTAL_ROLES: 'worker', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // wait for its heartbeat
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { workersAlive } = await import('../../core/jobs/heartbeat.ts');
      if ((await workersAlive()) > 0) break;
      if (Date.now() > deadline) throw new Error('worker did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    fake.createCompany({ name: 'Initech', domain: 'initech.io' });
    const r = await cli(['sync', 'incremental', '--connection', connectionId, '--wait', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ status: 'succeeded', trigger: 'cli' });
    const list = (await cli(['customers', 'list', '--workspace', workspaceId, '--json'])).json();
    expect(list.map((c: any) => c.domain)).toContain('initech.io');
    worker.kill('SIGTERM');
  }, 120_000);
});
