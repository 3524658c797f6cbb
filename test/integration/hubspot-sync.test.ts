// HubSpot end to end: the real SDK against the HubSpot fake, the real engine against
// the database. Messy domains, webhooks (verified, deduped, forged/stale refused), reconcile
// catching a missed webhook and a delete, a run killed mid-way, 429 storms, token expiry,
// writeback without an echo.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { INBOUND_PROCESS_JOB, processInboundEvent } from '../../core/inbound/pipeline.ts';
import { inboundProcessors } from '../../core/app/composition.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { resetEnvCache } from '../../core/env.ts';
import { createWorkspace, upsertMember } from '../../core/workspaces/workspaces.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { Contact } from '../../core/models/contact.ts';
import { Activity } from '../../core/models/activity.ts';
import { InboundEvent } from '../../core/models/events.ts';
import { SyncError } from '../../core/models/sync.ts';
import { connectSource, connectionStatus, getConnection } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import { writebackCustomer } from '../../core/sync/writeback-queue.ts';
import { ignoreSyncErrors, syncErrorsCsv } from '../../core/sync/runs.ts';
import { hubspot } from '../../core/connectors/hubspot/index.ts';
import { hubspotWebhooksRouter } from '../../portal/http/hubspot-webhooks.ts';
import { JOBS_COLLECTION } from '../../core/jobs/agenda.ts';

useTestDatabase('hubspot_sync');

let fake: FakeHubspot;
let server: http.Server;
let hookUrl = '';

beforeAll(async () => {
  fake = await startFakeHubspot({ clientId: 'cid', clientSecret: 'csecret', portalId: 4242 });
  fake.addPrivateAppToken('pat-1');
  const app = express();
  app.use(hubspotWebhooksRouter);
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  hookUrl = `http://127.0.0.1:${port}/webhooks/hubspot`;
  Object.assign(process.env, { HUBSPOT_API_BASE_URL: fake.url, HUBSPOT_CLIENT_ID: 'cid', HUBSPOT_CLIENT_SECRET: 'csecret', APP_URL: `http://127.0.0.1:${port}` });
  resetEnvCache();
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => server?.close(() => r()));
  await fake?.close();
});

async function newWorkspace(name: string) {
  const ws = await createWorkspace({ name });
  await upsertMember(ws._id, { email: 'owner@example.com', role: 'owner' });
  return ws;
}

/** Runs queued record re-reads the way the worker would. */
/** What the worker does with recorded webhook events (the inbound pipeline's job). */
async function drainRecordJobs(): Promise<number> {
  const jobs = await mongoose.connection.db!.collection(JOBS_COLLECTION).find({ name: INBOUND_PROCESS_JOB, lastFinishedAt: null }).toArray();
  for (const j of jobs) {
    await processInboundEvent(j.data.inbound_event_id, inboundProcessors);
    await mongoose.connection.db!.collection(JOBS_COLLECTION).updateOne({ _id: j._id }, { $set: { lastFinishedAt: new Date() } });
  }
  return jobs.length;
}

describe('a messy book through the HubSpot fake', () => {
  let connectionId = '';
  let workspaceId: mongoose.Types.ObjectId;
  const ids: Record<string, string> = {};

  it('syncs to exactly the expected customers', async () => {
    const ws = await newWorkspace('Messy');
    workspaceId = ws._id;
    await createCustomers(ws._id, [
      { name: 'Initech Ltd', domain: 'initech.io' },
      { name: 'Umbrella EU', domain: 'umbrella.com' },
      { name: 'Umbrella US', domain: 'umbrella.com' },
    ]);
    fake.addOwner({ email: 'owner@example.com' });
    ids.acme = fake.createCompany({ name: 'Acme', domain: 'WWW.Acme.com' }).id;
    ids.acmeDup = fake.createCompany({ name: 'Acme (dup)', domain: 'https://acme.com/' }).id;
    ids.blank = fake.createCompany({ name: 'Blank', domain: '' }).id;
    ids.globex = fake.createCompany({ name: 'Globex', domain: 'globex.com/about', tier: 'tier_1' }).id;
    ids.initech = fake.createCompany({ name: 'Initech', domain: 'initech.io' }).id;
    ids.umbrella = fake.createCompany({ name: 'Umbrella', domain: 'umbrella.com' }).id;
    const c1 = fake.createContact({ email: 'Wile@Acme.com', firstname: 'Wile', lastname: 'Coyote' }).id;
    const c2 = fake.createContact({ email: 'road@acme.com', firstname: 'Road' }).id;
    fake.associate(ids.acme, c1);
    fake.associate(ids.acme, c2);
    fake.takeWebhookEvents();

    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'hubspot', authType: 'token', credentials: { accessToken: 'pat-1' }, externalAccountId: '4242' });
    connectionId = String(conn._id);

    const validation = await runSync({ connectionId, kind: 'validate', trigger: 'test' });
    expect(validation.status).toBe('succeeded');
    expect((validation.problems as { record_id: string }[]).map((p) => p.record_id).sort()).toEqual([ids.acmeDup, ids.blank, ids.umbrella].sort());
    expect(await Customer.countDocuments({ workspace_id: ws._id })).toBe(3); // validate writes nothing

    const full = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(full.status).toBe('succeeded');
    // each record counted once: the blank domain and the later duplicate are skipped, Umbrella is ambiguous
    expect(full.counts).toMatchObject({ created: 4, matched: 1, ambiguous: 1, skipped: 2, errors: 0 });
    expect(Object.values(full.counts).reduce((a, b) => a + b, 0)).toBe(full.progress.done);
    const customers = await Customer.find({ workspace_id: ws._id }).sort({ display_id: 1 }).lean();
    expect(customers.map((c) => [c.name, c.domain])).toEqual([
      ['Initech', 'initech.io'],
      ['Umbrella EU', 'umbrella.com'],
      ['Umbrella US', 'umbrella.com'],
      ['Acme', 'acme.com'],
      ['Globex', 'globex.com'],
    ]);
    const acme = customers.find((c) => c.domain === 'acme.com')!;
    expect(acme.owner_email).toBe('owner@example.com');
    const contacts = await Contact.find({ customer_id: acme._id }).sort({ email: 1 }).lean();
    expect(contacts.map((c) => [c.email, c.is_primary])).toEqual([
      ['road@acme.com', false],
      ['wile@acme.com', true],
    ]);
    // Blank domain and first-sync ambiguity are open errors; CSV lists them.
    const csv = await syncErrorsCsv(conn._id);
    expect(csv).toContain(ids.blank);
    expect(csv).toContain('Domain matches 2 existing customers');
    expect(csv).toContain('Missing match key (no domain)');
    const again = await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(again.counts).toMatchObject({ created: 0, updated: 0 });
    expect(await Customer.countDocuments({ workspace_id: ws._id })).toBe(5);
    expect((await connectionStatus(connectionId)).state).toBe('connected');
  });

  it('refuses a second customer source for the workspace', async () => {
    await expect(connectSource({ workspaceId: String(workspaceId), provider: 'hubspot', authType: 'token', credentials: { accessToken: 'pat-1' } })).rejects.toThrow(/already has a customer source/);
  });

  it('ignores an error until the record changes in the source', async () => {
    const conn = await getConnection(connectionId);
    expect(await ignoreSyncErrors(conn._id)).toBe(2);
    await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(await SyncError.countDocuments({ connection_id: conn._id, ignored: false, resolved_at: null })).toBe(0);
    fake.updateCompany(ids.blank, { name: 'Blank 2' });
    fake.takeWebhookEvents();
    await runSync({ connectionId, kind: 'incremental', trigger: 'test' });
    expect(await SyncError.countDocuments({ connection_id: conn._id, record_id: ids.blank, ignored: false, resolved_at: null })).toBe(1);
  });

  it('takes a change by webhook, dedupes repeats and refuses forged or stale deliveries', async () => {
    const { events } = fake.updateCompany(ids.acme, { name: 'Acme Corp' });
    fake.takeWebhookEvents();
    expect(await fake.deliverWebhooks(hookUrl, events, { secret: 'wrong' })).toBe(401);
    expect(await fake.deliverWebhooks(hookUrl, events, { timestamp: Date.now() - 10 * 60_000 })).toBe(401);
    expect(await InboundEvent.countDocuments({})).toBe(0);

    expect(await fake.deliverWebhooks(hookUrl, [...events, ...events])).toBe(200);
    expect(await fake.deliverWebhooks(hookUrl, events)).toBe(200);
    expect(await InboundEvent.countDocuments({})).toBe(events.length);
    expect(await drainRecordJobs()).toBe(events.length);
    expect((await Customer.findOne({ workspace_id: workspaceId, domain: 'acme.com' }).lean())?.name).toBe('Acme Corp');
    const activity = await Activity.find({ field: 'name', new_value: 'Acme Corp' }).lean();
    expect(activity).toHaveLength(1);
    expect(activity[0]?.actor_type).toBe('sync');
  });

  it('catches a missed webhook and a delete on reconcile', async () => {
    fake.updateCompany(ids.globex, { name: 'Globex Corporation' });
    fake.deleteCompany(ids.initech);
    fake.takeWebhookEvents(); // never delivered
    const r = await runSync({ connectionId, kind: 'reconcile', trigger: 'test' });
    expect(r.status).toBe('succeeded');
    expect((await Customer.findOne({ workspace_id: workspaceId, domain: 'globex.com' }).lean())?.name).toBe('Globex Corporation');
    const initech = await Customer.findOne({ workspace_id: workspaceId, domain: 'initech.io' }).lean();
    expect(initech?.status).toBe('archived');
    expect(initech?.archived_reason).toBe('deleted_in_source');
  });

  it('recreates a linked customer deleted in Pivotal', async () => {
    await Customer.deleteOne({ workspace_id: workspaceId, domain: 'globex.com' });
    await runSync({ connectionId, kind: 'full', trigger: 'test' });
    expect(await Customer.countDocuments({ workspace_id: workspaceId, domain: 'globex.com' })).toBe(1);
  });

  it('writes status back to HubSpot (creating pivotal_status) without an echo', async () => {
    const acme = (await Customer.findOne({ workspace_id: workspaceId, domain: 'acme.com' }).lean())!;
    await Customer.updateOne({ _id: acme._id }, { $set: { status: 'at_risk' } });
    const before = await Activity.countDocuments({ customer_id: acme._id });
    const r = await writebackCustomer(String(acme._id), { status: 'at_risk' });
    expect(r.written).toBe(true);
    expect(fake.getPropertyDefinition('companies', 'pivotal_status')).toBeDefined();
    expect(fake.getRecord('companies', ids.acme)?.properties.pivotal_status).toBe('at_risk');
    await fake.deliverWebhooks(hookUrl, fake.takeWebhookEvents());
    await drainRecordJobs();
    expect(await Activity.countDocuments({ customer_id: acme._id })).toBe(before);
    expect((await Customer.findById(acme._id).lean())?.status).toBe('at_risk');
  });
});

describe('resilience', () => {
  it('resumes a run killed mid-way to the same final state', async () => {
    const f = await startFakeHubspot();
    f.addPrivateAppToken('pat-2');
    try {
      process.env.HUBSPOT_API_BASE_URL = f.url;
      resetEnvCache();
      const companies = f.seedCompanies(350, (i) => ({ name: `Co ${i}`, domain: `co${i}.example.com` }));
      f.seedContacts(120, (i) => ({ email: `p${i}@co.example.com` }), { companyId: (i) => companies[i] });
      const ws = await newWorkspace('Resume');
      const conn = await connectSource({ workspaceId: String(ws._id), provider: 'hubspot', authType: 'token', credentials: { accessToken: 'pat-2' } });
      const first = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test', maxPages: 2 });
      expect(first.status).toBe('running');
      expect(await Customer.countDocuments({ workspace_id: ws._id })).toBe(200);
      // A crash that lost the last checkpoint: the page is replayed, nothing is duplicated.
      await mongoose.connection.db!.collection('sync_runs').updateOne({ _id: new mongoose.Types.ObjectId(first.id) }, { $set: { 'checkpoint.cursor': companies[100] } });
      const aborted = new AbortController();
      aborted.abort();
      const paused = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test', signal: aborted.signal });
      expect(paused.status).toBe('paused');
      const done = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
      expect(done.id).toBe(first.id);
      expect(done.status).toBe('succeeded');
      expect(await Customer.countDocuments({ workspace_id: ws._id })).toBe(350);
      expect(await Contact.countDocuments({ workspace_id: ws._id })).toBe(120);
      expect(done.counts.created).toBe(350 + 120);
    } finally {
      process.env.HUBSPOT_API_BASE_URL = fake.url;
      resetEnvCache();
      await f.close();
    }
  });

  it('ends 429 storms and token expiry in a complete sync', async () => {
    const f = await startFakeHubspot({ clientId: 'cid', clientSecret: 'csecret', rateLimit: { requests: 1, windowMs: 1500 } });
    try {
      process.env.HUBSPOT_API_BASE_URL = f.url;
      resetEnvCache();
      f.seedCompanies(250, (i) => ({ name: `Co ${i}`, domain: `rl${i}.example.com` }));
      const creds = await hubspot.oauth!.exchangeCode({ code: f.issueAuthCode({ redirectUri: 'https://x.example.com/cb' }), redirectUri: 'https://x.example.com/cb' });
      const ws = await newWorkspace('Storm');
      const conn = await connectSource({ workspaceId: String(ws._id), provider: 'hubspot', authType: 'oauth', credentials: creds });
      expect(conn.external_account_id).toBe(String(f.portalId));
      f.expireAllTokens();
      const r = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
      expect(r.status).toBe('succeeded');
      expect(await Customer.countDocuments({ workspace_id: ws._id })).toBe(250);
      expect(f.requests.some((q) => q.status === 429)).toBe(true);
      expect(f.requests.some((q) => q.status === 401)).toBe(true);

      // A revoked grant stops the sync in `reauthorize`, not in a crash.
      f.expireAllTokens();
      f.revokeRefreshTokens();
      const stopped = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
      expect(stopped.status).toBe('paused');
      expect((await connectionStatus(String(conn._id))).state).toBe('reauthorize');
    } finally {
      process.env.HUBSPOT_API_BASE_URL = fake.url;
      resetEnvCache();
      await f.close();
    }
  });
});
