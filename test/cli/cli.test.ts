// The operator CLI as a subprocess against the real engine: happy paths, --json output,
// and bad flags (one-line error on stderr, non-zero exit, nothing half-written).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { Contact } from '../../core/models/contact.ts';
import { SlackInstallation } from '../../core/models/slack.ts';
import { Workspace } from '../../core/models/workspace.ts';
import { Types } from 'mongoose';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.ts';

const db = useTestDatabase('cli');
let slack: FakeSlack;
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { MONGODB_URI: db.uri, SLACK_API_URL: slack.apiUrl, ...env });

function expectOneLineError(r: { code: number; stderr: string; stdout: string }, pattern: RegExp, code = 2) {
  expect(r.code).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

let workspaceId = '';

beforeAll(async () => {
  // `slack link` checks the bot token with Slack (auth.test) before storing it.
  slack = await startFakeSlack();
  slack.addTeam({ teamId: 'T0ACME01', botToken: 'xoxb-1-secret-token', users: [], channels: [] });
  const r = await cli(['workspace', 'create', '--name', 'Acme CS', '--timezone', 'Europe/Paris', '--json']);
  expect(r.code).toBe(0);
  workspaceId = r.json().id;
  const ws = new Types.ObjectId(workspaceId);
  const created = await createCustomers(ws, [
    { name: 'Acme', domain: 'https://www.acme.com/', plan: 'Growth', billing: { mrr: 140000, payment_status: 'failing', plan: 'Growth' } },
    { name: 'Acme Labs', domain: 'acmelabs.io' },
    { name: 'Globex Corporation', domain: 'globex.com', status: 'at_risk' },
    { name: 'Initech', domain: 'initech.com', status: 'churned' },
    { name: 'Umbrella', domain: 'umbrella.com', status: 'archived' },
  ]);
  await Contact.create({ workspace_id: ws, customer_id: created[2]!._id, name: 'Hank', email: 'hank@globex.com', is_primary: true });
});

afterAll(async () => {
  await slack?.close();
});

describe('workspace create', () => {
  it('prints the id, or JSON with --json', async () => {
    const plain = await cli(['workspace', 'create', '--name', 'Second']);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^[0-9a-f]{24}$/);
    const ws = await Workspace.findById(plain.stdout.trim()).lean();
    expect(ws!.timezone).toBe('UTC');
  });

  it('rejects a missing name, an unknown timezone and unknown flags', async () => {
    expectOneLineError(await cli(['workspace', 'create']), /--name is required/);
    expectOneLineError(await cli(['workspace', 'create', '--name', 'X', '--timezone', 'Mars/Base']), /unknown timezone "Mars\/Base"/);
    expectOneLineError(await cli(['workspace', 'create', '--name', 'X', '--colour', 'red']), /unknown option '--colour'/);
    expectOneLineError(await cli(['workspace', 'frobnicate']), /unknown command 'frobnicate'/);
  });

  it('fails fast on a bad environment, naming the variable', async () => {
    const r = await cli(['workspace', 'create', '--name', 'X'], { MONGODB_URI: 'postgres://nope' });
    expectOneLineError(r, /MONGODB_URI: must start with mongodb:\/\//);
  });
});

describe('slack link', () => {
  it('links a team to a workspace, storing the token encrypted', async () => {
    const r = await cli(['slack', 'link', '--workspace', workspaceId, '--team', 'T0ACME01', '--bot-token', 'xoxb-1-secret-token', '--default-channel', 'C0ALERTS', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ workspace_id: workspaceId, team_id: 'T0ACME01', default_channel_id: 'C0ALERTS' });
    expect(r.stdout + r.stderr).not.toContain('secret-token');
    const install = await SlackInstallation.findOne({ team_id: 'T0ACME01' }).lean();
    expect(install!.bot_token).not.toContain('secret-token');
    const ws = await Workspace.findById(workspaceId).lean();
    expect(ws!.settings.alerts!.default_channel_id).toBe('C0ALERTS');
  });

  it('rejects bad ids and tokens, unknown workspaces and a team already linked elsewhere', async () => {
    expectOneLineError(await cli(['slack', 'link', '--workspace', workspaceId, '--team', 'acme', '--bot-token', 'xoxb-1']), /--team: team id looks like/);
    expectOneLineError(await cli(['slack', 'link', '--workspace', workspaceId, '--team', 'T0ACME01', '--bot-token', 'xoxp-user']), /--bot-token: bot token starts with xoxb-/);
    expectOneLineError(await cli(['slack', 'link', '--workspace', 'nope', '--team', 'T0ACME01', '--bot-token', 'xoxb-1']), /workspace "nope" is not a valid id/);
    expectOneLineError(await cli(['slack', 'link', '--workspace', new Types.ObjectId().toHexString(), '--team', 'T0ACME01', '--bot-token', 'xoxb-1']), /No workspace with id/);
    const other = (await cli(['workspace', 'create', '--name', 'Other'])).stdout.trim();
    expectOneLineError(await cli(['slack', 'link', '--workspace', other, '--team', 'T0ACME01', '--bot-token', 'xoxb-1']), /already linked to another workspace/);
    expectOneLineError(await cli(['slack', 'link', '--workspace', workspaceId, '--team', 'T0ACME01']), /--bot-token is required/);
  });
});

describe('customers list', () => {
  it('lists active and at-risk customers by default, with billing fields', async () => {
    const r = await cli(['customers', 'list', '--workspace', workspaceId, '--json']);
    expect(r.code).toBe(0);
    const rows = r.json<any[]>();
    expect(rows.map((c) => c.name)).toEqual(['Acme', 'Acme Labs', 'Globex Corporation']);
    expect(rows[0]).toMatchObject({ domain: 'acme.com', plan: 'Growth', mrr: 140000, payment_status: 'failing', display_id: 1 });
  });

  it('filters by status and exports CSV', async () => {
    const churned = await cli(['customers', 'list', '--workspace', workspaceId, '--status', 'churned', '--format', 'json']);
    expect(churned.json<any[]>().map((c) => c.name)).toEqual(['Initech']);
    const all = await cli(['customers', 'list', '--workspace', workspaceId, '--status', 'all', '--json']);
    expect(all.json<any[]>()).toHaveLength(5);
    const csv = await cli(['customers', 'list', '--workspace', workspaceId, '--format', 'csv']);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('display_id,name,domain,status,plan,owner_email,mrr,payment_status,billing_started_at,stripe_customer_id,health_score,health_bucket,arr,industry,employee_count,tags,last_synced_at,id');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^1,Acme,acme\.com,active,Growth,,140000,failing,/);
  });

  it('rejects a bad status or format', async () => {
    expectOneLineError(await cli(['customers', 'list', '--workspace', workspaceId, '--status', 'happy']), /--status must be one of active, at_risk, churned, archived, all/);
    expectOneLineError(await cli(['customers', 'list', '--workspace', workspaceId, '--format', 'xml']), /--format must be one of/);
    expectOneLineError(await cli(['customers', 'list']), /--workspace is required/);
  });
});

describe('customers show', () => {
  it('matches exact names, domains, contact emails and display ids', async () => {
    const byName = await cli(['customers', 'show', '--workspace', workspaceId, 'acme', '--json']);
    expect(byName.json()).toMatchObject({ match: 'exact', name: 'Acme', domain: 'acme.com' });
    const byDomain = await cli(['customers', 'show', '--workspace', workspaceId, 'WWW.GLOBEX.COM', '--json']);
    expect(byDomain.json()).toMatchObject({ match: 'exact', name: 'Globex Corporation' });
    const byEmail = await cli(['customers', 'show', '--workspace', workspaceId, 'hank@globex.com', '--json']);
    expect(byEmail.json()).toMatchObject({ name: 'Globex Corporation' });
    const byId = await cli(['customers', 'show', '--workspace', workspaceId, '#2', '--json']);
    expect(byId.json()).toMatchObject({ match: 'display_id', name: 'Acme Labs' });
  });

  it('falls back to prefix, then typo-tolerant matching, and keeps churned customers searchable', async () => {
    const prefix = await cli(['customers', 'show', '--workspace', workspaceId, 'glob', '--json']);
    expect(prefix.json()).toMatchObject({ match: 'prefix', name: 'Globex Corporation' });
    const typo = await cli(['customers', 'show', '--workspace', workspaceId, 'globx', '--json']);
    expect(typo.json()).toMatchObject({ match: 'fuzzy', name: 'Globex Corporation' });
    const several = await cli(['customers', 'show', '--workspace', workspaceId, 'acm', '--json']);
    expect(several.json().customers.map((c: any) => c.name)).toEqual(['Acme', 'Acme Labs']);
    const churned = await cli(['customers', 'show', '--workspace', workspaceId, 'initech', '--json']);
    expect(churned.json()).toMatchObject({ status: 'churned' });
  });

  it('says when nothing matches (archived customers are not offered), with suggestions', async () => {
    const none = await cli(['customers', 'show', '--workspace', workspaceId, 'umbrella', '--json']);
    expect(none.code).toBe(1);
    expect(none.json()).toMatchObject({ match: 'none' });
    expect(none.stderr).toMatch(/error: no customer matches "umbrella"/);
    expectOneLineError(await cli(['customers', 'show', '--workspace', workspaceId]), /QUERY is required/);
  });

  it('never shows another workspace\'s customers', async () => {
    const other = (await cli(['workspace', 'create', '--name', 'Elsewhere'])).stdout.trim();
    const r = await cli(['customers', 'show', '--workspace', other, 'acme', '--json']);
    expect(r.code).toBe(1);
    expect(await Customer.countDocuments({ workspace_id: new Types.ObjectId(other) })).toBe(0);
  });
});

describe('admin invite', () => {
  it('prints a one-time sign-in link under APP_URL', async () => {
    const r = await cli(['admin', 'invite', '--workspace', workspaceId, '--email', 'Owner@Acme.com', '--role', 'owner', '--json'], { APP_URL: 'https://pivotal.example.com' });
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ email: 'owner@acme.com', role: 'owner' });
    expect(r.json().link).toMatch(/^https:\/\/pivotal\.example\.com\/login\/[A-Za-z0-9_-]{40,}$/);
    expectOneLineError(await cli(['admin', 'invite', '--workspace', workspaceId, '--email', 'x@y.z', '--role', 'god']), /--role must be one of owner, admin, member/);
    expectOneLineError(await cli(['admin', 'invite', '--workspace', workspaceId, '--email', 'not-an-email']), /is not an email address/);
  });
});
