// The data design's guarantees, proven on the real engine over the wire.
import { describe, expect, it } from 'vitest';
import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../helpers/db.ts';
import { syncIndexes } from '../../core/db/connection.ts';
import { SourceLink } from '../../core/models/sync.ts';
import { Workspace } from '../../core/models/workspace.ts';
import { Customer } from '../../core/models/customer.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { createWorkspace, upsertMember } from '../../core/workspaces/workspaces.ts';
import { AppError, explainDuplicateKey, isDuplicateKeyError } from '../../core/errors.ts';
import { nextDisplayIds, ensureDisplayIdCounter } from '../../core/models/counter.ts';

useTestDatabase('models');

describe('source links', () => {
  it('rejects a second link for the same (connection, object type, external id) with E11000, reported clearly', async () => {
    const base = { workspace_id: new Types.ObjectId(), connection_id: new Types.ObjectId(), object_type: 'company', external_id: '42', target_type: 'customer' as const };
    await SourceLink.create({ ...base, target_id: new Types.ObjectId() });
    let err: unknown;
    try {
      await SourceLink.create({ ...base, target_id: new Types.ObjectId() });
    } catch (e) {
      err = e;
    }
    expect(isDuplicateKeyError(err)).toBe(true);
    const explained = explainDuplicateKey(err, 'A link for company 42');
    expect(explained).toBeInstanceOf(AppError);
    expect((explained as AppError).code).toBe('duplicate');
    expect((explained as AppError).message).toMatch(/^A link for company 42 already exists/);
    // another object type with the same id is a different record
    await expect(SourceLink.create({ ...base, object_type: 'contact', target_type: 'contact', target_id: new Types.ObjectId() })).resolves.toBeTruthy();
  });
});

describe('display ids', () => {
  it('allocates unique consecutive numbers per workspace under concurrency', async () => {
    const ws = new Types.ObjectId();
    await ensureDisplayIdCounter(ws); // as createWorkspace does
    const firsts = await Promise.all(Array.from({ length: 20 }, () => nextDisplayIds(ws, 5)));
    const all = firsts.flatMap((f) => [f, f + 1, f + 2, f + 3, f + 4]).sort((a, b) => a - b);
    expect(new Set(all).size).toBe(100);
    expect(all[0]).toBe(1);
    expect(all[99]).toBe(100);
    // other workspaces count on their own
    expect(await nextDisplayIds(new Types.ObjectId())).toBe(1);
  });

  it('rejects a duplicate display_id in one workspace but allows it across workspaces', async () => {
    const w1 = (await createWorkspace({ name: 'One' }))._id;
    const w2 = (await createWorkspace({ name: 'Two' }))._id;
    const [a] = await createCustomers(w1, [{ name: 'Acme', domain: 'WWW.Acme.com' }]);
    expect(a!.domain).toBe('acme.com');
    expect(a!.name_lower).toBe('acme');
    await expect(Customer.create({ workspace_id: w1, display_id: a!.display_id, name: 'Dup', name_lower: 'dup' })).rejects.toMatchObject({ code: 11000 });
    await expect(Customer.create({ workspace_id: w2, display_id: a!.display_id, name: 'Other', name_lower: 'other' })).resolves.toBeTruthy();
  });
});

describe('workspaces', () => {
  it('gives unique slugs and keeps exactly one owner', async () => {
    const a = await createWorkspace({ name: 'Acme CS' });
    const b = await createWorkspace({ name: 'Acme CS' });
    expect(a.slug).toBe('acme-cs');
    expect(b.slug).toBe('acme-cs-2');
    await upsertMember(a._id, { email: 'First@Example.com', role: 'admin' });
    await expect(upsertMember(a._id, { email: 'second@example.com', role: 'owner' })).rejects.toThrow(/--transfer-ownership/);
    await upsertMember(a._id, { email: 'second@example.com', role: 'owner', transferOwnership: true });
    const ws = await Workspace.findById(a._id).lean();
    expect(ws!.members.filter((m) => m.role === 'owner').map((m) => m.email)).toEqual(['second@example.com']);
    // the first member was promoted to owner when there was none, then demoted to admin
    expect(ws!.members.find((m) => m.email === 'first@example.com')!.role).toBe('admin');
  });

  it('refuses bad names and unknown timezones', async () => {
    await expect(createWorkspace({ name: '  ' })).rejects.toThrow(/name must not be empty/);
    await expect(createWorkspace({ name: 'X', timezone: 'Mars/Olympus' })).rejects.toThrow(/unknown timezone/);
  });
});

describe('retired indexes', () => {
  it('drops the old provider-wide inbound event index, so events dedupe per account again', async () => {
    const events = mongoose.connection.db!.collection('inbound_events');
    await events.createIndex({ provider: 1, event_id: 1 }, { unique: true, name: 'provider_1_event_id_1' });
    await syncIndexes();
    expect(await events.indexExists('provider_1_event_id_1')).toBe(false);
  });
});

describe('upgrading a database from before billing lived on the customer', () => {
  it('moves each customer\'s newest billing version onto it and drops the old collection', async () => {
    const [kept, fresh] = await createCustomers(new Types.ObjectId(), [{ name: 'Old billing' }, { name: 'Billed since' }]);
    await Customer.updateOne({ _id: fresh!._id }, { $set: { 'billing.mrr': 999, 'billing.synced_at': new Date() } });
    const old = mongoose.connection.db!.collection('customer_billing');
    await old.insertMany([
      { customer_id: kept!._id, written_at: new Date(1000), mrr: 1, payment_status: 'paid' },
      { customer_id: kept!._id, written_at: new Date(2000), mrr: 2, payment_status: 'failing', synced_at: new Date(2000) },
      { customer_id: fresh!._id, written_at: new Date(3000), mrr: 3, payment_status: 'paid' },
    ]);
    await syncIndexes();
    expect((await Customer.findById(kept!._id).lean())!.billing).toMatchObject({ mrr: 2, payment_status: 'failing' });
    expect((await Customer.findById(fresh!._id).lean())!.billing).toMatchObject({ mrr: 999 });
    expect((await mongoose.connection.db!.listCollections({ name: 'customer_billing' }).toArray()).length).toBe(0);
  });
});
