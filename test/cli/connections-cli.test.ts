// The second-round operator commands as an operator runs them (subprocesses against the
// HubSpot fake and the real engine): workspace list, connections list, mapping show|set
// (a wrong type is refused with the reason and nothing saved), sync retry|ignore.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { Customer } from '../../core/models/customer.ts';

const db = useTestDatabase('connections_cli');
let fake: FakeHubspot;
let env: Record<string, string>;
let workspaceId = '';
let connectionId = '';
let noDomainId = '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pivotal-mapping-'));
const cli = (args: string[]) => runCli(args, env);
const file = (name: string, body: unknown) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

beforeAll(async () => {
  fake = await startFakeHubspot({ searchRateLimitPerSec: 0 });
  fake.addPrivateAppToken('pat-conn');
  fake.defineProperty('companies', { name: 'csm_segment', label: 'CSM segment', type: 'string', fieldType: 'text' });
  fake.createCompany({ name: 'Acme', domain: 'acme.com', csm_segment: 'Enterprise' });
  noDomainId = fake.createCompany({ name: 'No Domain Inc', domain: '' }).id;
  env = { MONGODB_URI: db.uri, HUBSPOT_API_BASE_URL: fake.url };
  workspaceId = (await cli(['workspace', 'create', '--name', 'Mapping Co', '--timezone', 'Europe/Paris'])).stdout.trim();
});

afterAll(async () => {
  await fake?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('workspace and connections lists', () => {
  it('lists workspaces with id, name, slug and timezone', async () => {
    const r = await cli(['workspace', 'list', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toContainEqual({ id: workspaceId, name: 'Mapping Co', slug: 'mapping-co', timezone: 'Europe/Paris' });
  });

  it("lists a workspace's connections; a bad workspace id is one line and exit 2", async () => {
    connectionId = (await cli(['connect', 'hubspot', '--workspace', workspaceId, '--token', 'pat-conn'])).stdout.trim();
    const r = await cli(['connections', 'list', '--workspace', workspaceId, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual([{ id: connectionId, provider: 'hubspot', role: 'customer_source', mode: null, state: 'connected', last_full_sync_at: null, last_incremental_at: null }]);
    const bad = await cli(['connections', 'list', '--workspace', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('mapping show|set', () => {
  it("shows the default mapping and the source's real properties with their types", async () => {
    const r = await cli(['mapping', 'show', '--connection', connectionId, '--json']);
    expect(r.code).toBe(0);
    const v = r.json();
    expect(v.is_default).toBe(true);
    expect(v.mapping).toContainEqual({ target: 'name', source: 'name' });
    expect(v.properties).toContainEqual(expect.objectContaining({ name: 'csm_segment', label: 'CSM segment', type: 'string' }));
    expect(v.properties).toContainEqual(expect.objectContaining({ name: 'annualrevenue', type: 'number' }));
  });

  it('refuses a type mismatch or an unknown property with the reason, and saves nothing', async () => {
    const wrongType = await cli(['mapping', 'set', '--connection', connectionId, '--file', file('bad.json', { mapping: [{ target: 'name', source: 'name' }, { target: 'domain', source: 'domain' }, { target: 'arr', source: 'csm_segment' }] })]);
    expect(wrongType.code).toBe(2);
    expect(wrongType.stderr).toMatch(/ARR \(USD\) needs a number property, and "CSM segment" is a string/);
    const unknown = await cli(['mapping', 'set', '--connection', connectionId, '--file', file('unknown.json', { mapping: [{ target: 'name', source: 'nope' }] })]);
    expect(unknown.stderr).toMatch(/the source has no property "nope"/);
    const notJson = await cli(['mapping', 'set', '--connection', connectionId, '--file', file('x.json', '{nope')]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/is not JSON/);
    expect((await cli(['mapping', 'show', '--connection', connectionId, '--json'])).json().is_default).toBe(true);
  });

  it('maps a custom property to a custom field from the file `mapping show --json` printed, and the sync fills it', async () => {
    const shown = (await cli(['mapping', 'show', '--connection', connectionId, '--json'])).json();
    shown.mapping.push({ target: 'custom:segment', source: 'csm_segment', type: 'string' });
    const r = await cli(['mapping', 'set', '--connection', connectionId, '--file', file('good.json', shown), '--json']);
    expect(r.code).toBe(0);
    expect(r.json().mapping).toContainEqual({ target: 'custom:segment', source: 'csm_segment', type: 'string' });
    const full = await cli(['sync', 'full', '--connection', connectionId, '--wait', '--json']);
    expect(full.json().status).toBe('succeeded');
    const acme = await Customer.findOne({ workspace_id: workspaceId, domain: 'acme.com' }).lean();
    expect(acme?.custom_fields).toMatchObject({ segment: 'Enterprise' });
  });
});

describe('sync retry|ignore', () => {
  it('retries one record: still failing, then fixed once the source is', async () => {
    const errors = (await cli(['sync', 'errors', '--connection', connectionId, '--json'])).json();
    const err = errors.find((e: any) => e.record_id === noDomainId);
    expect(err).toBeTruthy();
    const still = await cli(['sync', 'retry', '--connection', connectionId, '--error', err.id, '--json']);
    expect(still.code).toBe(0);
    expect(still.json().fixed).toBe(false);
    fake.updateCompany(noDomainId, { domain: 'nodomain.io' });
    const fixed = await cli(['sync', 'retry', '--connection', connectionId, '--error', err.id, '--json']);
    expect(fixed.json().fixed).toBe(true);
    expect((await cli(['sync', 'errors', '--connection', connectionId, '--json'])).json()).toEqual([]);
    expect(await Customer.countDocuments({ workspace_id: workspaceId, domain: 'nodomain.io' })).toBe(1);
  });

  it('ignores one error or all of them until the record changes; bad flags are one line', async () => {
    const a = fake.createCompany({ name: 'Blank One', domain: '' }).id;
    fake.createCompany({ name: 'Blank Two', domain: '' });
    await cli(['sync', 'full', '--connection', connectionId, '--wait']);
    const open = (await cli(['sync', 'errors', '--connection', connectionId, '--json'])).json();
    expect(open).toHaveLength(2);
    const one = open.find((e: any) => e.record_id === a);
    expect((await cli(['sync', 'ignore', '--connection', connectionId, '--error', one.id, '--json'])).json()).toEqual({ connection_id: connectionId, ignored: 1 });
    expect((await cli(['sync', 'errors', '--connection', connectionId, '--json'])).json()).toHaveLength(1);
    expect((await cli(['sync', 'ignore', '--connection', connectionId, '--all', '--json'])).json().ignored).toBe(1);
    expect((await cli(['sync', 'errors', '--connection', connectionId, '--json'])).json()).toEqual([]);
    const neither = await cli(['sync', 'ignore', '--connection', connectionId]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/^error: give exactly one of --error ID or --all\n$/);
    const badId = await cli(['sync', 'retry', '--connection', connectionId, '--error', 'zzz']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/not a valid id/);
  });
});
