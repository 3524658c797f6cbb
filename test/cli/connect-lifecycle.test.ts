// Issue 14 from the operator's side, as subprocesses against the HubSpot and Slack fakes:
// credentials checked at connect (and read from stdin or the environment, never argv),
// `pivotal disconnect` and connecting again, freshness warnings, counts that add up, CSV
// that a spreadsheet cannot run, role changes that say what they did, and `--json` output
// that survives a slow pipe.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.ts';
import { repoRoot } from '../../core/paths.ts';
import { Connection } from '../../core/models/connection.ts';
import { SlackInstallation } from '../../core/models/slack.ts';
import { createCustomers } from '../../core/customers/customers.ts';

const db = useTestDatabase('connect_lifecycle');
let hubspot: FakeHubspot;
let slack: FakeSlack;
let env: Record<string, string>;
let workspaceId = '';
let connectionId = '';

const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { ...env, ...extra });

/** The CLI with `input` on stdin, as `echo "$TOKEN" | npx pivotal … --token -` runs it. */
function cliWithStdin(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/pivotal.js'), ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

function oneLineError(r: { code: number; stderr: string }, pattern: RegExp, code = 2) {
  expect(r.code).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

beforeAll(async () => {
  hubspot = await startFakeHubspot({ searchRateLimitPerSec: 0, portalId: 7_654_321 });
  hubspot.addPrivateAppToken('pat-good-token');
  slack = await startFakeSlack();
  slack.addTeam({ teamId: 'T0LIFE001', botToken: 'xoxb-life-good', users: [], channels: [] });
  slack.addTeam({ teamId: 'T0OTHER01', botToken: 'xoxb-other-team', users: [], channels: [] });
  env = { MONGODB_URI: db.uri, HUBSPOT_API_BASE_URL: hubspot.url, SLACK_API_URL: slack.apiUrl };
  workspaceId = (await cli(['workspace', 'create', '--name', 'Lifecycle'])).stdout.trim();
});

afterAll(async () => {
  await hubspot?.close();
  await slack?.close();
});

describe('credentials at connect (items 8, 17)', () => {
  it('refuses a HubSpot token HubSpot rejects, with HubSpot’s reason, and stores nothing', async () => {
    oneLineError(await cli(['connect', 'hubspot', '--workspace', workspaceId, '--token', 'pat-typo']), /^error: HubSpot rejected the token: Authentication credentials not found/);
    expect(await Connection.countDocuments({ workspace_id: new Types.ObjectId(workspaceId) })).toBe(0);
    oneLineError(await cli(['connect', 'hubspot', '--workspace', workspaceId, '--token', 'pat-good-token', '--portal-id', '123']), /belongs to HubSpot portal 7654321, not 123/);
  });

  it('reads the token from stdin (-) and learns the portal id from the account-info API', async () => {
    const r = await cliWithStdin(['connect', 'hubspot', '--workspace', workspaceId, '--token', '-', '--json'], 'pat-good-token\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ provider: 'hubspot', portal_id: '7654321', state: 'connected' });
    connectionId = out.connection_id;
    const conn = await Connection.findById(connectionId).lean();
    expect(conn!.external_account_id).toBe('7654321');
    expect(hubspot.requests.some((q) => q.method === 'GET' && q.path === '/account-info/v3/details')).toBe(true);
  });

  it('reads secrets from env:NAME and says so when the variable is missing', async () => {
    oneLineError(await cli(['connect', 'hubspot', '--workspace', workspaceId, '--token', 'env:PIVOTAL_TEST_UNSET_TOKEN']), /env:PIVOTAL_TEST_UNSET_TOKEN: the environment variable PIVOTAL_TEST_UNSET_TOKEN is not set/);
    const linked = await cli(['slack', 'link', '--workspace', workspaceId, '--team', 'T0LIFE001', '--bot-token', 'env:BOT', '--json'], { BOT: 'xoxb-life-good' });
    expect(linked.code).toBe(0);
    expect(linked.json()).toMatchObject({ team_id: 'T0LIFE001' });
  });

  it('refuses a Slack bot token Slack rejects (auth.test) or one of another team', async () => {
    const other = (await cli(['workspace', 'create', '--name', 'Slack Other'])).stdout.trim();
    oneLineError(await cli(['slack', 'link', '--workspace', other, '--team', 'T0NEWTEAM', '--bot-token', 'xoxb-not-issued']), /^error: Slack rejected the bot token: invalid_auth$/);
    oneLineError(await cli(['slack', 'link', '--workspace', other, '--team', 'T0NEWTEAM', '--bot-token', 'xoxb-other-team']), /belongs to Slack team T0OTHER01, not T0NEWTEAM/);
    expect(await SlackInstallation.countDocuments({ team_id: 'T0NEWTEAM' })).toBe(0);
  });
});

describe('sync counts and freshness (items 11, 18)', () => {
  it('a never-synced connection says so instead of "older than 24 hours"', async () => {
    const s = (await cli(['sync', 'status', '--connection', connectionId, '--json'])).json();
    expect(s.warnings.join(' ')).not.toMatch(/older than 24 hours|older than 30 minutes/);
    expect(s.warnings).toEqual(['No full sync has run yet: run one to bring in the customers']);
  });

  it('counts every record once (adding up to the records read), in validate’s words', async () => {
    await createCustomers(new Types.ObjectId(workspaceId), [{ name: 'Umbrella EU', domain: 'umbrella.com' }, { name: 'Umbrella US', domain: 'umbrella.com' }]);
    hubspot.createCompany({ name: 'Acme', domain: 'acme.com' });
    hubspot.createCompany({ name: 'Acme again', domain: 'www.acme.com' });
    hubspot.createCompany({ name: 'No Domain Inc', domain: '' });
    hubspot.createCompany({ name: 'Umbrella', domain: 'umbrella.com' });
    hubspot.createCompany({ name: '=HYPERLINK("http://evil.test","x")', domain: 'evil.test' });

    const v = (await cli(['sync', 'validate', '--connection', connectionId, '--wait', '--json'])).json();
    const full = await cli(['sync', 'full', '--connection', connectionId, '--wait', '--json']);
    expect(full.code).toBe(0);
    const summary = full.json();
    expect(summary.counts).toMatchObject({ created: 2, skipped: 2, ambiguous: 1, errors: 0 });
    const total = Object.values(summary.counts as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBe(summary.progress.done);
    expect(v.counts).toMatchObject({ skipped: 2, ambiguous: 1 });

    const errors = (await cli(['sync', 'errors', '--connection', connectionId, '--json'])).json();
    const problems = v.problems as { record_id: string; problem: string }[];
    for (const e of errors) expect(problems.find((p) => p.record_id === e.record_id)?.problem).toBe(e.message);
    expect(errors.map((e: any) => e.message).sort()).toEqual(['Domain matches 2 existing customers: pick one in Ambiguous matches (Pivotal does not guess)', 'Missing match key (no domain): the record is skipped']);
  });

  it('a connection fresh from a full sync has no freshness warning', async () => {
    const s = (await cli(['sync', 'status', '--connection', connectionId, '--json'])).json();
    expect(s.warnings).toEqual([]);
  });

  it('CSV output quotes formula cells (item 7)', async () => {
    const csv = await cli(['customers', 'list', '--workspace', workspaceId, '--format', 'csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toContain(`"'=HYPERLINK(""http://evil.test"",""x"")"`);
    expect(csv.stdout).not.toMatch(/(^|,)"?=HYPERLINK/m);
  });

  it('the table output keeps terminal escapes from source data out of the terminal (item 7)', async () => {
    await createCustomers(new Types.ObjectId(workspaceId), [{ name: '\u001b]0;pwned\u0007Evil\u001b[2J Corp', domain: 'ansi.test' }]);
    const table = await cli(['customers', 'list', '--workspace', workspaceId]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Evil Corp');
    expect(table.stdout).not.toContain('\u001b');
  });
});

describe('disconnect and connect again (CONTRACT second round)', () => {
  it('erases the credentials, keeps the mapping, frees the slot; connecting again works', async () => {
    await Connection.updateOne({ _id: new Types.ObjectId(connectionId) }, { $set: { field_mapping: [{ target: 'name', source: 'name' }, { target: 'domain', source: 'domain' }, { target: 'custom:tier', source: 'tier', type: 'string' }] } });
    const r = await cli(['disconnect', '--connection', connectionId, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ connection_id: connectionId, state: 'disconnected', field_mapping_kept: true });
    const conn = await Connection.findById(connectionId).lean();
    expect(conn!.credentials).toBeNull();
    expect((conn!.field_mapping as any[]).length).toBe(3);
    expect((await cli(['sync', 'status', '--connection', connectionId, '--json'])).json().state).toBe('disconnected');
    oneLineError(await cli(['sync', 'full', '--connection', connectionId, '--wait']), /disconnected/);

    const again = await cli(['connect', 'hubspot', '--workspace', workspaceId, '--token', 'pat-good-token', '--json']);
    expect(again.code).toBe(0);
    const fresh = await Connection.findById(again.json().connection_id).lean();
    expect(fresh!.state).toBe('connected');
    expect((fresh!.field_mapping as any[]).map((m) => m.target)).toEqual(['name', 'domain', 'custom:tier']);
    oneLineError(await cli(['disconnect', '--connection', 'nope']), /connection "nope" is not a valid id/);
  });
});

describe('role changes say what they did (item 16)', () => {
  it('refuses a silent ownership change, and transfers it when asked', async () => {
    const ws = (await cli(['workspace', 'create', '--name', 'Roles'])).stdout.trim();
    const first = await cli(['admin', 'invite', '--workspace', ws, '--email', 'olivia@roles.test', '--role', 'owner', '--json']);
    expect(first.json()).toMatchObject({ role: 'owner', previous_role: null });
    oneLineError(await cli(['admin', 'invite', '--workspace', ws, '--email', 'bob@roles.test', '--role', 'owner']), /olivia@roles\.test is this workspace's owner; .*--transfer-ownership/);
    oneLineError(await cli(['admin', 'invite', '--workspace', ws, '--email', 'olivia@roles.test', '--role', 'admin']), /olivia@roles\.test is this workspace's only owner/);
    // a new link for an existing member keeps their role
    const again = await cli(['admin', 'invite', '--workspace', ws, '--email', 'olivia@roles.test', '--json']);
    expect(again.json()).toMatchObject({ role: 'owner', previous_role: 'owner', changes: [] });
    const moved = await cli(['admin', 'invite', '--workspace', ws, '--email', 'bob@roles.test', '--role', 'owner', '--transfer-ownership']);
    expect(moved.code).toBe(0);
    expect(moved.stdout.trim()).toMatch(/^http.*\/login\//);
    expect(moved.stderr).toContain('note: olivia@roles.test is no longer the owner (now admin)');
    const member = await cli(['admin', 'invite', '--workspace', ws, '--email', 'olivia@roles.test', '--role', 'member', '--json']);
    expect(member.json()).toMatchObject({ role: 'member', previous_role: 'admin', changes: ["olivia@roles.test's role changed from admin to member"] });
  });
});

describe('--json through a slow pipe (item 12)', () => {
  it('delivers a multi-megabyte customers list whole, however slowly it is read', async () => {
    const ws = (await cli(['workspace', 'create', '--name', 'Big Book'])).stdout.trim();
    const long = 'x'.repeat(300);
    await createCustomers(new Types.ObjectId(ws), Array.from({ length: 4000 }, (_, i) => ({ name: `Customer ${i} ${long}`, domain: `c${i}.example` })));
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/pivotal.js'), 'customers', 'list', '--workspace', ws, '--json'], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
    // Nobody reads for a while: the pipe fills up long before the CLI has written everything.
    child.stdout.pause();
    const chunks: Buffer[] = [];
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    await new Promise((r) => setTimeout(r, 1500));
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdout.resume();
    expect(await exited).toBe(0);
    const out = Buffer.concat(chunks).toString('utf8');
    expect(out.length).toBeGreaterThan(1_500_000);
    expect(JSON.parse(out)).toHaveLength(4000);
  }, 60_000);
});
