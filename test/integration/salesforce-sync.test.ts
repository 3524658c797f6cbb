// Salesforce end to end: jsforce against the Salesforce fake, the real engine against the
// test database. Full syncs on the REST and Bulk 2.0 paths (results over several locator
// pages), a change picked up by the next poll, records sharing one SystemModstamp across
// a page boundary, a deletion archiving, writeback landing without an echo, quota
// exhaustion pausing and resuming with nothing lost, session refresh and a revoked grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../fakes/salesforce.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace, upsertMember } from '../../core/workspaces/workspaces.ts';
import { Customer } from '../../core/models/customer.ts';
import { Contact } from '../../core/models/contact.ts';
import { Activity } from '../../core/models/activity.ts';
import { Connection } from '../../core/models/connection.ts';
import { SyncError } from '../../core/models/sync.ts';
import { connectSource, connectionStatus, connectorContext, getConnection } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { writebackCustomer } from '../../core/sync/writeback-queue.ts';
import { salesforce, writebackMany } from '../../core/connectors/salesforce/index.ts';
import { decryptJson } from '../../core/crypto.ts';
import { JOBS_COLLECTION } from '../../core/jobs/agenda.ts';
import type { Credentials } from '../../core/connectors/connector.ts';

useTestDatabase('salesforce_sync');
const saved = { ...process.env };
let sf: FakeSalesforce;
let csmUserId = '';

beforeAll(async () => {
  sf = await startFakeSalesforce({ clientId: 'sf-cid', clientSecret: 'sf-secret', bulkPageSize: 40 });
  Object.assign(process.env, { SALESFORCE_CLIENT_ID: 'sf-cid', SALESFORCE_CLIENT_SECRET: 'sf-secret', SALESFORCE_LOGIN_URL: sf.url });
  resetEnvCache();
  csmUserId = sf.addUser('csm@example.com', 'Casey CSM');
});

afterAll(async () => {
  await sf?.close();
  process.env = saved;
  resetEnvCache();
});

async function connectWorkspace(name: string, settings: Record<string, unknown> = {}, withRefresh = true) {
  const ws = await createWorkspace({ name });
  await upsertMember(ws._id, { email: 'owner@example.com', role: 'owner' });
  await upsertMember(ws._id, { email: 'csm@example.com', role: 'member' });
  const t = sf.issueToken({ withRefresh });
  const conn = await connectSource({
    workspaceId: String(ws._id),
    provider: 'salesforce',
    authType: withRefresh ? 'oauth' : 'token',
    credentials: { accessToken: t.accessToken, refreshToken: t.refreshToken, instanceUrl: sf.url },
    settings,
  });
  return { ws, connectionId: String(conn._id), tokens: t };
}

const customersOf = (workspaceId: Types.ObjectId) => Customer.find({ workspace_id: workspaceId }).lean();

describe('Salesforce full sync', () => {
  it('maps Accounts to customers and Contacts to their contacts over the REST path', async () => {
    const acme = sf.addAccount({ Name: 'Acme Corp', Website: 'https://www.Acme.com/about', OwnerId: csmUserId, AnnualRevenue: 1_200_000, Industry: 'Technology', NumberOfEmployees: 120, Type: 'Customer - Direct' });
    sf.addContact({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'Ada@Acme.com', Title: 'CTO', AccountId: acme });
    sf.addAccount({ Name: "O'Brien & Sons", Website: 'obrien.ie', Type: 'Prospect' });
    const { ws, connectionId } = await connectWorkspace('REST book');
    const summary = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(summary.status).toBe('succeeded');
    expect(summary.counts.errors).toBe(0);
    const customers = await customersOf(ws._id);
    expect(customers).toHaveLength(2);
    const c = customers.find((x) => x.name === 'Acme Corp')!;
    expect(c).toMatchObject({ domain: 'acme.com', owner_email: 'csm@example.com', arr: 1_200_000, industry: 'Technology', employee_count: 120 });
    expect(c.sources[0]).toMatchObject({ provider: 'salesforce', object_type: 'account', external_id: acme });
    const contacts = await Contact.find({ customer_id: c._id }).lean();
    expect(contacts.map((x) => [x.name, x.email, x.title])).toEqual([['Ada Lovelace', 'ada@acme.com', 'CTO']]);
    expect(sf.stats.byPath.get('jobs/query') ?? 0).toBe(0);
  });

  it('walks a book above the Bulk threshold through Bulk 2.0 results spread over several locator pages', async () => {
    sf.seedAccounts(150, { contactsPerAccount: 1 });
    const before = sf.stats.bulkResults;
    const { ws, connectionId } = await connectWorkspace('Bulk book', { bulk_threshold: 100, filter: { field: 'Type', operator: '=', value: 'Customer - Direct' } });
    const summary = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(summary.status).toBe('succeeded');
    const expected = sf.count('Account') - 1; // the Prospect is outside the filter
    expect(await Customer.countDocuments({ workspace_id: ws._id })).toBe(expected);
    expect(sf.stats.bulkResults - before).toBeGreaterThanOrEqual(Math.ceil(expected / 40) + 1);
    expect(await Contact.countDocuments({ workspace_id: ws._id })).toBe(sf.count('Contact'));
  });

  it('refuses a filter on a field the object does not have, and never pastes filter text into SOQL', async () => {
    const { connectionId } = await connectWorkspace('Bad filter', { filter: { field: 'Nope__c', operator: '=', value: 'x' } });
    const bad = await runSync({ connectionId, kind: 'preview', trigger: 'test' });
    expect(bad.status).toBe('failed');
    expect(bad.message).toContain('no field Nope__c');
    const { ws, connectionId: sneaky } = await connectWorkspace('Sneaky filter', { filter: { field: 'Name', operator: '=', value: "x' OR Name != '" } });
    expect((await runSync({ connectionId: sneaky, kind: 'full', trigger: 'test' })).status).toBe('succeeded');
    expect(await Customer.countDocuments({ workspace_id: ws._id })).toBe(0);
  });
});

describe('Salesforce polling', () => {
  let ws: { _id: Types.ObjectId };
  let connectionId = '';
  let first = '';

  beforeAll(async () => {
    sf.addAccount({ Name: 'Old Co', Website: 'old.example.org', Type: 'Customer - Channel' }, new Date(Date.now() - 10 * 60_000));
    ({ ws, connectionId } = await connectWorkspace('Polling', { filter: { field: 'Type', operator: 'in', value: ['Customer - Direct', 'Customer - Channel'] } }));
    expect((await runSync({ connectionId, kind: 'full', trigger: 'test' })).status).toBe('succeeded');
    first = (await Customer.findOne({ workspace_id: ws._id, name: 'Acme Corp' }).lean())!.sources[0]!.external_id;
  });

  it('picks up a change with the next poll', async () => {
    sf.update('Account', first, { Name: 'Acme Corporation' });
    const s = await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    expect(s.status).toBe('succeeded');
    expect(s.counts.updated).toBe(1);
    expect((await Customer.findOne({ workspace_id: ws._id, 'sources.external_id': first }).lean())!.name).toBe('Acme Corporation');
  });

  it('delivers every record that shares one SystemModstamp across a page boundary', async () => {
    const stamp = new Date(Math.floor(Date.now() / 1000) * 1000 - 2000);
    const ids = [sf.addAccount({ Name: 'Tie A', Website: 'tie-a.com', Type: 'Customer - Direct' }, stamp), sf.addAccount({ Name: 'Tie B', Website: 'tie-b.com', Type: 'Customer - Direct' }, stamp), sf.addAccount({ Name: 'Tie C', Website: 'tie-c.com', Type: 'Customer - Direct' }, stamp)];
    const ctx = connectorContext(await getConnection(connectionId));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await salesforce.pull(ctx, { kind: 'customer', cursor, since: new Date(stamp.getTime() - 1000), pageSize: 2 });
      seen.push(...page.records.filter((r) => !r.deleted).map((r) => r.externalId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    const s = await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    expect(s.counts.created).toBe(3);
  });

  it('archives a customer whose Account was deleted, keeping its history', async () => {
    const victim = (await Customer.findOne({ workspace_id: ws._id, name: 'Old Co' }).lean())!;
    // Deleted 90 s ago, after the last poll 5 minutes ago (getDeleted counts whole minutes).
    sf.remove('Account', victim.sources[0]!.external_id, new Date(Date.now() - 90_000));
    await Connection.updateOne({ _id: new Types.ObjectId(connectionId) }, { $set: { 'cursors.customer': new Date(Date.now() - 5 * 60_000).toISOString() } });
    const s = await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    expect(s.status).toBe('succeeded');
    const after = (await Customer.findById(victim._id).lean())!;
    expect(after.status).toBe('archived');
    expect(await Activity.countDocuments({ customer_id: victim._id, new_value: 'archived' })).toBe(1);
  });

  it('archives a customer whose Account left the source filter', async () => {
    const leaving = (await Customer.findOne({ workspace_id: ws._id, name: 'Tie C' }).lean())!;
    sf.update('Account', leaving.sources[0]!.external_id, { Type: 'Partner' });
    await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    expect((await Customer.findById(leaving._id).lean())!.status).toBe('archived');
  });

  it('writes status back to the Account through sObject collections, and the poll does not re-import it', async () => {
    const c = (await Customer.findOne({ workspace_id: ws._id, 'sources.external_id': first }).lean())!;
    const missing = await writebackCustomer(String(c._id), { status: 'at_risk' });
    expect(missing.written).toBe(false);
    const err = await SyncError.findOne({ connection_id: new Types.ObjectId(connectionId), record_id: first }).lean();
    expect(err?.message).toContain('Pivotal_Status__c');
    expect(err?.message).toContain('Object Manager');

    sf.addField('Account', { name: 'Pivotal_Status__c', type: 'string' });
    (await import('../../core/connectors/salesforce/index.ts')).forgetDescribe(connectionId);
    const composite = sf.stats.composite;
    expect(await writebackCustomer(String(c._id), { status: 'at_risk' })).toEqual({ written: true });
    expect(sf.stats.composite).toBe(composite + 1);
    expect(sf.record('Account', first)!.Pivotal_Status__c).toBe('at_risk');
    const poll = await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    expect(poll.counts).toMatchObject({ created: 0, updated: 0 });
  });

  it('writes many Accounts through collections of 200, one refused record not stopping the rest', async () => {
    const ids = (await Customer.find({ workspace_id: ws._id, status: { $ne: 'archived' } }).lean()).map((c) => c.sources[0]!.external_id).slice(0, 149);
    const gone = sf.addAccount({ Name: 'Gone' });
    sf.remove('Account', gone);
    const items = [...ids, ...ids.slice(0, 100), gone].map((externalId) => ({ externalId, changes: { status: 'churned', ownerEmail: 'csm@example.com' } }));
    const composite = sf.stats.composite;
    const results = await writebackMany(connectorContext(await getConnection(connectionId)), items);
    expect(sf.stats.composite - composite).toBe(2);
    expect(results.filter((r) => r.ok)).toHaveLength(items.length - 1);
    const refused = results.find((r) => !r.ok)!;
    expect(refused.externalId).toBe(gone);
    expect(refused.error?.message).toContain('ENTITY_IS_DELETED');
    expect(sf.record('Account', ids[0]!)).toMatchObject({ Pivotal_Status__c: 'churned', OwnerId: csmUserId });
  });

  it('polls every 15 minutes', async () => {
    const jobs = await mongoose.connection.db!.collection(JOBS_COLLECTION).find({ 'data.connection_id': connectionId, 'data.schedule': 'poll' }).toArray();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.repeatInterval).toBe('15 minutes');
  });
});

describe('Salesforce limits and sessions', () => {
  it('pauses when the daily quota is used up, says so, and resumes from its checkpoint with nothing lost', async () => {
    const { ws, connectionId } = await connectWorkspace('Quota', { bulk_threshold: 50 });
    sf.resetQuota();
    sf.setDailyLimit(6); // describe, count, the job, its check and two of the four result pages
    const paused = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(paused.status).toBe('paused');
    expect(paused.message).toMatch(/quota is used up; resuming at/);
    const status = await connectionStatus(connectionId);
    expect(status.paused_until).toBeTruthy();
    expect(status.warnings.join(' ')).toContain('API request quota is used up');
    const resume = await mongoose.connection.db!.collection(JOBS_COLLECTION).findOne({ name: 'sync.run', 'data.connection_id': connectionId, 'data.trigger': 'quota' });
    expect(resume?.nextRunAt.getTime()).toBeGreaterThan(Date.now());
    // Before the window frees up, a run does not call Salesforce at all.
    const usage = sf.usage();
    expect((await runSync({ connectionId, kind: 'full', trigger: 'test' })).status).toBe('paused');
    expect(sf.usage()).toBe(usage);

    sf.resetQuota();
    sf.setDailyLimit(Number.MAX_SAFE_INTEGER);
    await Connection.updateOne({ _id: new Types.ObjectId(connectionId) }, { $set: { paused_until: new Date(Date.now() - 1000) } });
    const done = await runSync({ connectionId, kind: 'full', trigger: 'quota', runId: paused.id });
    expect(done.status).toBe('succeeded');
    const customers = await customersOf(ws._id);
    expect(customers).toHaveLength(sf.count('Account'));
    expect(new Set(customers.map((c) => c.sources[0]!.external_id)).size).toBe(customers.length);
  });

  it('refreshes an expired session through jsforce and keeps the new token', async () => {
    const { connectionId, tokens } = await connectWorkspace('Refresh');
    sf.expireSessions();
    const s = await runSync({ connectionId, kind: 'preview', trigger: 'test' });
    expect(s.status).toBe('succeeded');
    const creds = decryptJson<Credentials>((await getConnection(connectionId)).credentials!);
    expect(creds.accessToken).not.toBe(tokens.accessToken);
    expect(creds.refreshToken).toBe(tokens.refreshToken);
    expect((await getConnection(connectionId)).state).toBe('connected');
  });

  it('asks to reauthorize when the refresh token was revoked', async () => {
    const { connectionId, tokens } = await connectWorkspace('Revoked');
    sf.revokeRefreshToken(tokens.refreshToken!);
    sf.expireSessions();
    const s = await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    expect(s.status).toBe('paused');
    const conn = await getConnection(connectionId);
    expect(conn.state).toBe('reauthorize');
    expect(conn.state_reason).toContain('reconnect Salesforce');
    expect((await connectionStatus(connectionId)).warnings.join(' ')).toContain('Reauthorize salesforce');
  });
});

describe('Salesforce cursors that expire', () => {
  const onceEach = async (workspaceId: Types.ObjectId) => {
    const customers = await customersOf(workspaceId);
    expect(customers).toHaveLength(sf.count('Account'));
    expect(new Set(customers.map((c) => c.sources[0]!.external_id)).size).toBe(customers.length);
  };

  it('starts the Bulk walk over with a new query job when the old job’s results are gone', async () => {
    if (sf.count('Account') < 150) sf.seedAccounts(150 - sf.count('Account'));
    const { ws, connectionId } = await connectWorkspace('Expired job', { bulk_threshold: 100 });
    const jobs = sf.stats.byPath.get('jobs/query') ?? 0;
    const first = await runSync({ connectionId, kind: 'full', trigger: 'test', maxPages: 2 });
    expect(first.status).toBe('running');
    sf.expireLocators();
    const refused = sf.stats.refusedLocators;
    const done = await runSync({ connectionId, kind: 'full', trigger: 'test', runId: first.id });
    expect(done.status).toBe('succeeded');
    expect(sf.stats.refusedLocators - refused).toBeGreaterThanOrEqual(1);
    // The Accounts' job, the one that replaced it, and the Contacts' own job when they are above the threshold too.
    expect((sf.stats.byPath.get('jobs/query') ?? 0) - jobs).toBe(2 + (sf.count('Contact') >= 100 ? 1 : 0));
    await onceEach(ws._id);
    expect(done.counts.archived).toBe(0);
    // Progress counts the restarted walk once: every Account and Contact, not the abandoned pages too.
    expect(done.progress.done).toBe(sf.count('Account') + sf.count('Contact'));
  });

  it('re-queries from its checkpoint when a REST query locator expires mid-page', async () => {
    const { ws, connectionId } = await connectWorkspace('Expired locator');
    const batch = sf.options.restBatchSize;
    sf.options.restBatchSize = 25;
    try {
      sf.expireLocators({ afterQueryMores: 2 });
      const refused = sf.stats.refusedLocators;
      const s = await runSync({ connectionId, kind: 'full', trigger: 'test' });
      expect(s.status).toBe('succeeded');
      expect(sf.stats.refusedLocators - refused).toBe(1);
      await onceEach(ws._id);
    } finally {
      sf.options.restBatchSize = batch;
    }
  });
});
