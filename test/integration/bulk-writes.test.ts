// FerretDB v1 hangs forever on one `update` command of ~100 statements (each statement's
// cursor holds one of its 100 SQLite connections until the command ends). These tests
// drive the shapes that used to send such commands: a raw bulk of 250 updates and a
// HubSpot re-sync where every company on several full pages changed.
import mongoose, { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startFakeHubspot, type FakeHubspot } from '../fakes/hubspot.ts';
import { resetEnvCache } from '../../core/env.ts';
import { bulkWriteInChunks } from '../../core/db/bulk.ts';
import { createWorkspace } from '../../core/workspaces/workspaces.ts';
import { Customer } from '../../core/models/customer.ts';
import { connectSource } from '../../core/sync/connections.ts';
import { runSync } from '../../core/sync/engine.ts';
import '../../core/connectors/hubspot/index.ts';

useTestDatabase('bulk_writes');

let fake: FakeHubspot;
beforeAll(async () => {
  fake = await startFakeHubspot({ clientId: 'cid', clientSecret: 'csecret', portalId: 777 });
  fake.addPrivateAppToken('pat-bulk');
  process.env.HUBSPOT_API_BASE_URL = fake.url;
  resetEnvCache();
});
afterAll(async () => {
  await fake?.close();
  delete process.env.HUBSPOT_API_BASE_URL;
  resetEnvCache();
});

describe('bulk updates on FerretDB', () => {
  it('applies 250 updates from four writers at once', async () => {
    const coll = mongoose.connection.db!.collection('bulk_probe');
    const docs = Array.from({ length: 1000 }, (_, i) => ({ _id: new Types.ObjectId(), n: i, v: 0 }));
    await coll.insertMany(docs);
    await Promise.all(
      [0, 1, 2, 3].map((w) =>
        bulkWriteInChunks(coll, docs.slice(w * 250, w * 250 + 250).map((d) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { v: d.n + 1 } } } }))),
      ),
    );
    const after = await coll.find({}).toArray();
    expect(after.every((d) => d.v === d.n + 1)).toBe(true);
  }, 120_000);

  it('re-syncs 250 HubSpot companies that all changed', async () => {
    const ws = await createWorkspace({ name: 'Bulk' });
    const ids = Array.from({ length: 250 }, (_, i) => fake.createCompany({ name: `Co ${i}`, domain: `co${i}.bulk.example` }).id);
    const conn = await connectSource({ workspaceId: String(ws._id), provider: 'hubspot', authType: 'token', credentials: { accessToken: 'pat-bulk' }, externalAccountId: '777' });
    const first = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
    expect(first.counts).toMatchObject({ created: 250 });
    ids.forEach((id, i) => fake.updateCompany(id, { name: `Renamed ${i}` }));
    const second = await runSync({ connectionId: String(conn._id), kind: 'full', trigger: 'test' });
    expect(second.status).toBe('succeeded');
    expect(second.counts).toMatchObject({ created: 0, updated: 250 });
    const names = (await Customer.find({ workspace_id: ws._id }, { name: 1 }).lean()).map((c) => c.name);
    expect(names.filter((n) => n.startsWith('Renamed ')).length).toBe(250);
  }, 180_000);
});
