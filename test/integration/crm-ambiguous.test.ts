// CRM ambiguous matches end to end: the real HubSpot SDK against the fake, the real engine
// against the database. A first full sync records each domain it will not guess (several
// customers, or a customer another record already has) with its records; an admin's
// decision (link to one candidate, create, skip) is refused when it is not one of the
// choices or comes second, and every later sync honours it.
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace, upsertMember } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { AmbiguousMatch, SyncError } from '../../core/models/sync.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { connectionsAdmin } from '../../core/sync/connections-admin.ts';

useTestDatabase('crm_ambiguous');

let fake: FakeHubspot;
const saved = { ...process.env };
let workspaceId = '';
let connectionId = '';
const cust: Record<string, Types.ObjectId> = {};

beforeAll(async () => {
  fake = await startFakeHubspot({ portalId: 5151 });
  fake.addPrivateAppToken('pat-amb');
  Object.assign(process.env, { HUBSPOT_API_BASE_URL: fake.url });
  resetEnvCache();
  const ws = await createWorkspace({ name: 'Ambiguous Co' });
  await upsertMember(ws._id, { email: 'owner@amb.test', role: 'owner' });
  workspaceId = String(ws._id);
  const created = await createCustomers(ws._id, ['alpha', 'beta', 'gamma'].flatMap((d) => [
    { name: `${d} one`, domain: `${d}.example` },
    { name: `${d} two`, domain: `${d}.example` },
  ]));
  for (const c of created) cust[c.name] = c._id;
  for (const d of ['alpha', 'beta', 'gamma']) fake.createCompany({ name: `${d} Inc`, domain: `${d}.example` });
  fake.createCompany({ name: 'Dup One', domain: 'dup.example' });
  fake.createCompany({ name: 'Dup Two', domain: 'dup.example' });
  connectionId = String((await connectSource({ workspaceId, provider: 'hubspot', authType: 'token', credentials: { accessToken: 'pat-amb' }, externalAccountId: '5151' }))._id);
});

afterAll(async () => {
  await fake?.close();
  process.env = saved;
  resetEnvCache();
});

const resolve = (match: string, choice: string, ws = workspaceId) => connectionsAdmin.resolveAmbiguous(ws, connectionId, match, choice, 'owner@amb.test');

describe('CRM ambiguous matches', () => {
  it('records every domain the first sync will not guess, with its records and candidates', async () => {
    const run = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(run.counts).toMatchObject({ ambiguous: 3, created: 1 });
    const { overview, matches } = await connectionsAdmin.ambiguous(workspaceId, connectionId);
    expect(overview.ambiguous_open).toBe(4);
    const by = Object.fromEntries(matches.map((m) => [m.domain, m]));
    expect(by['alpha.example']!.records.map((r) => r.name)).toEqual(['alpha Inc']);
    expect(by['alpha.example']!.candidates.map((c) => c.name).sort()).toEqual(['alpha one', 'alpha two']);
    // A second record of a domain the first one already took: its candidate is that customer.
    expect(by['dup.example']!.records.map((r) => r.name)).toEqual(['Dup Two']);
    expect(by['dup.example']!.candidates).toEqual([expect.objectContaining({ name: 'Dup One', linked: true })]);
  });

  it('refuses a choice that is not one of the match, a second decision, and another workspace', async () => {
    const { matches } = await connectionsAdmin.ambiguous(workspaceId, connectionId);
    const alpha = matches.find((m) => m.domain === 'alpha.example')!;
    await expect(resolve(alpha.id, 'maybe')).rejects.toMatchObject({ code: 'bad_input' });
    await expect(resolve(alpha.id, `customer:${cust['beta one']}`)).rejects.toMatchObject({ code: 'bad_input', message: expect.stringContaining('not one of the candidates') });
    await expect(resolve('nope', 'skip')).rejects.toMatchObject({ code: 'bad_input' });
    const other = String((await createWorkspace({ name: 'Other Co' }))._id);
    await expect(resolve(alpha.id, 'skip', other)).rejects.toMatchObject({ code: 'not_found' });

    expect(await resolve(alpha.id, `customer:${cust['alpha two']}`)).toMatch(/^alpha\.example: the next sync links alpha Inc to alpha two \(#\d+\)\.$/);
    await expect(resolve(alpha.id, 'skip')).rejects.toMatchObject({ code: 'conflict' });
    const byDomain = Object.fromEntries(matches.map((m) => [m.domain, m.id]));
    expect(await resolve(byDomain['beta.example']!, 'create')).toBe('beta.example: the next sync creates a new customer for beta Inc.');
    expect(await resolve(byDomain['gamma.example']!, 'skip')).toBe('gamma.example: the next sync skips gamma Inc.');
    expect(await resolve(byDomain['dup.example']!, 'create')).toBe('dup.example: the next sync creates a new customer for Dup Two.');
    expect(await AmbiguousMatch.countDocuments({ connection_id: new Types.ObjectId(connectionId), status: 'open' })).toBe(0);
    // Validate no longer lists a settled domain as a problem.
    const check = await runSync({ connectionId, kind: 'validate', trigger: 'test' });
    expect(check.problems).toEqual([]);
    expect(check.counts).toMatchObject({ ambiguous: 0, skipped: 1 });
  });

  it('the next sync honours each decision, and the one after changes nothing', async () => {
    const before = await Customer.countDocuments({ workspace_id: workspaceId });
    const run = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(run.counts).toMatchObject({ matched: 1, created: 2, ambiguous: 0 });
    expect((await Customer.findById(cust['alpha two']).lean())!.sources.map((s) => s.external_id)).toHaveLength(1);
    expect((await Customer.findById(cust['alpha one']).lean())!.sources).toEqual([]);
    expect(await Customer.countDocuments({ workspace_id: workspaceId, domain: 'beta.example' })).toBe(3);
    expect(await Customer.countDocuments({ workspace_id: workspaceId, domain: 'dup.example' })).toBe(2);
    expect(await Customer.countDocuments({ workspace_id: workspaceId, domain: 'gamma.example', 'sources.0': { $exists: true } })).toBe(0);
    expect(await Customer.countDocuments({ workspace_id: workspaceId })).toBe(before + 2);
    // The skipped record's error is closed: the admin decided.
    expect(await SyncError.countDocuments({ connection_id: new Types.ObjectId(connectionId), resolved_at: null })).toBe(0);

    const again = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(again.counts).toMatchObject({ created: 0, matched: 0, ambiguous: 0 });
    expect(await Customer.countDocuments({ workspace_id: workspaceId })).toBe(before + 2);
    const settled = (await connectionsAdmin.ambiguous(workspaceId, connectionId)).matches;
    expect(settled.map((m) => [m.domain, m.decision]).sort()).toEqual([
      ['alpha.example', expect.stringMatching(/^Link to alpha Inc \(#\d+\)$/)], // the customer now carries the record's name
      ['beta.example', 'Create a new customer'],
      ['dup.example', 'Create a new customer'],
      ['gamma.example', 'Skip these records'],
    ]);
  });
});
