// The in-memory customer search index (core/customers/search-index.ts) behind
// searchCustomers: incremental refresh, invalidation, deletions at rebuild,
// documents served from memory, fuzzy ranking beyond the candidate cap, workspace isolation, one shared build.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { useTestDatabase } from '../helpers/db.ts';
import { createCustomers, derivedSearchFields } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { Contact } from '../../core/models/contact.ts';
import { searchCustomers } from '../../core/customers/search.ts';
import { WorkspaceSearchIndex, configureCustomerSearch, customerSearchStats, invalidateCustomerSearch, resetCustomerSearch } from '../../core/customers/search-index.ts';
import { billingFor, noBilling, withBilling, writeBilling } from '../../core/billing/store.ts';
import { failingCustomers } from '../../core/slack/book.ts';

useTestDatabase('search_index');

const names = (r: { customers: { name: string }[] }) => r.customers.map((c) => c.name);
let nextDisplay = 900_000;

/** A customer written behind the process's back (as another instance would), timestamps set. */
async function rawInsert(workspaceId: Types.ObjectId, name: string, domain: string | null = null) {
  const _id = new Types.ObjectId();
  const now = new Date();
  await Customer.collection.insertOne({ _id, workspace_id: workspaceId, display_id: nextDisplay++, name, domain, ...derivedSearchFields(name, domain), status: 'active', createdAt: now, updatedAt: now });
  return _id;
}

beforeEach(() => {
  resetCustomerSearch();
  // freshness as in production but with no time-based refresh: only invalidation refreshes
  configureCustomerSearch({ maxStalenessMs: 3_600_000, maxWaitMs: Number.POSITIVE_INFINITY, backgroundMs: 0, rebuildMs: Number.POSITIVE_INFINITY });
});

afterAll(() => {
  configureCustomerSearch('default');
  resetCustomerSearch();
});

describe('WorkspaceSearchIndex (in memory)', () => {
  it('keeps prefix order by name across sorted and newly added entries, and skips replaced ones', () => {
    const ix = WorkspaceSearchIndex.from([
      { _id: 'a', name_lower: 'acme b', domain: 'zeta.io', display_id: 1, status: 'active' },
      { _id: 'b', name_lower: 'acme a', domain: null, display_id: 2, status: 'active' },
      { _id: 'c', name_lower: 'other', domain: 'acme.dev', display_id: 3, status: 'churned' },
    ]);
    ix.upsert({ _id: 'd', name_lower: 'acme 0', domain: null, display_id: 4, status: 'at_risk' });
    ix.upsert({ _id: 'a', name_lower: 'zz renamed', domain: 'zeta.io', display_id: 1, status: 'active' });
    ix.upsert({ _id: 'b', name_lower: 'acme a', domain: null, display_id: 2, status: 'archived' });
    expect(ix.prefix('acme', 10).map((s) => ix.ids[s])).toEqual(['d', 'c']);
    expect(ix.prefix('acme', 1).map((s) => ix.ids[s])).toEqual(['d']);
    expect(ix.size).toBe(3);
    expect(ix.compact().prefix('zz', 10).length).toBe(1);
  });

  it('caps typo candidates by shared trigrams, not by insertion order', () => {
    const docs = Array.from({ length: 50 }, (_, i) => ({ _id: `x${i}`, name_lower: `northwind ${i}`, domain: null, display_id: i, status: 'active' }));
    const ix = WorkspaceSearchIndex.from([...docs, { _id: 'target', name_lower: 'northwind traders', domain: null, display_id: 99, status: 'active' }]);
    const picked = ix.gramCandidates(['nor', 'ort', 'tra', 'rad', 'ade', 'der'], 5);
    expect(picked).toHaveLength(5);
    expect(picked.map((s) => ix.ids[s])).toContain('target');
  });
});

describe('searchCustomers on the index', () => {
  it('sees writes from elsewhere after an incremental refresh, and at once after invalidation', async () => {
    const ws = new Types.ObjectId();
    await createCustomers(ws, [{ name: 'Acme', domain: 'acme.com' }]);
    expect(names(await searchCustomers(ws, 'acme'))).toEqual(['Acme']);
    const builds = customerSearchStats().builds;

    const id = await rawInsert(ws, 'Hooli', 'hooli.xyz');
    // within the staleness bound the index is not re-read...
    expect((await searchCustomers(ws, 'hooli')).match).toBe('none');
    invalidateCustomerSearch(ws);
    // ...invalidation makes the next search refresh first (incrementally: no rebuild)
    expect(await searchCustomers(ws, 'hooli')).toMatchObject({ match: 'exact', customers: [{ name: 'Hooli' }] });
    expect(customerSearchStats().builds).toBe(builds);
    expect(customerSearchStats().refreshes).toBeGreaterThan(0);

    // a rename (mongoose bumps updatedAt): the old name stops matching, the new one matches
    await Customer.updateOne({ _id: id }, { $set: { name: 'Pied Piper', ...derivedSearchFields('Pied Piper', 'hooli.xyz') } });
    invalidateCustomerSearch(String(ws));
    expect(names(await searchCustomers(ws, 'pied'))).toEqual(['Pied Piper']);
    expect((await searchCustomers(ws, 'hooli')).match).not.toBe('exact');

    // createCustomers in this process invalidates by itself
    await createCustomers(ws, [{ name: 'Initech', domain: 'initech.com' }]);
    expect(names(await searchCustomers(ws, 'initech.com'))).toEqual(['Initech']);
  });

  it('returns documents as the database has them, refreshed with the index', async () => {
    const ws = new Types.ObjectId();
    const [c] = await createCustomers(ws, [{ name: 'Vandelay Industries', domain: 'vandelay.com', billing: { mrr: 5_000, payment_status: 'paid' } }]);
    const hit = await searchCustomers(ws, 'vandelay.com');
    const lean = async () => withBilling(await Customer.findById(c!._id, { search_grams: 0 }).lean());
    expect(hit.customers).toEqual([await lean()]);
    await Customer.updateOne({ _id: c!._id }, { $set: { status: 'at_risk' } });
    await writeBilling([{ workspaceId: ws, customerId: c!._id, billing: { ...(await billingFor([c!._id])).get(String(c!._id))!, mrr: 9_000 } }]);
    invalidateCustomerSearch(ws);
    expect((await searchCustomers(ws, 'vandelay')).customers).toEqual([await lean()]);
  });

  it('drops archived customers at the next refresh and deleted ones at the next rebuild', async () => {
    const ws = new Types.ObjectId();
    const [gone, archived] = await createCustomers(ws, [{ name: 'Globex East' }, { name: 'Globex West' }, { name: 'Globex North' }]);
    expect(names(await searchCustomers(ws, 'globex'))).toEqual(['Globex East', 'Globex North', 'Globex West']);
    await Customer.updateOne({ _id: archived!._id }, { $set: { status: 'archived' } });
    invalidateCustomerSearch(ws);
    expect(names(await searchCustomers(ws, 'globex'))).toEqual(['Globex East', 'Globex North']);
    await Customer.deleteOne({ _id: gone!._id });
    configureCustomerSearch({ rebuildMs: 0 }); // as under NODE_ENV=test: every refresh rebuilds
    invalidateCustomerSearch(ws);
    expect(names(await searchCustomers(ws, 'globex'))).toEqual(['Globex North']);
    const east = await searchCustomers(ws, 'globex east');
    expect(east.match).toBe('none');
    expect(east.suggestions.map((c) => c.name)).toEqual(['Globex North']);
  });

  it('finds customers by contact email, including contacts added later', async () => {
    const ws = new Types.ObjectId();
    const [a, b] = await createCustomers(ws, [{ name: 'Umbrella' }, { name: 'Stark' }]);
    await Contact.create({ workspace_id: ws, customer_id: a!._id, email: 'alice@umbrella.test' });
    expect(names(await searchCustomers(ws, 'ALICE@umbrella.test'))).toEqual(['Umbrella']);
    await Contact.create({ workspace_id: ws, customer_id: b!._id, email: 'tony@stark.test' });
    invalidateCustomerSearch(ws);
    expect(names(await searchCustomers(ws, 'tony@stark.test'))).toEqual(['Stark']);
  });

  it('ranks typo matches by similarity, even beyond the candidate cap', async () => {
    const ws = new Types.ObjectId();
    // 2,100 customers sharing most trigrams, inserted before the one that matches best
    await createCustomers(ws, Array.from({ length: 2_100 }, (_, i) => ({ name: `Northwind Trading ${i}` })));
    await createCustomers(ws, [{ name: 'Northwind Traders Ultra' }, { name: 'Acme Corporation' }, { name: 'Acne Studios' }]);
    const r = await searchCustomers(ws, 'northwnd traders ultra');
    expect(r.match).toBe('fuzzy');
    expect(r.customers[0].name).toBe('Northwind Traders Ultra');
    const typo = await searchCustomers(ws, 'acme corporatoin');
    expect(typo.match).toBe('fuzzy');
    expect(typo.customers[0].name).toBe('Acme Corporation');
    const none = await searchCustomers(ws, 'zzqx');
    expect(none).toMatchObject({ match: 'none', customers: [] });
  });

  it('keeps workspaces apart and builds each index once for concurrent searches', async () => {
    const a = new Types.ObjectId();
    const b = new Types.ObjectId();
    await createCustomers(a, [{ name: 'Wayne Enterprises', domain: 'wayne.com' }]);
    await createCustomers(b, [{ name: 'Wayne Foods', domain: 'waynefoods.com' }]);
    resetCustomerSearch();
    configureCustomerSearch({ maxStalenessMs: 3_600_000, maxWaitMs: Number.POSITIVE_INFINITY, backgroundMs: 0, rebuildMs: Number.POSITIVE_INFINITY });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => searchCustomers(i % 2 ? b : a, 'wayne')));
    expect(customerSearchStats().builds).toBe(2);
    for (let i = 0; i < results.length; i++) expect(names(results[i]!)).toEqual([i % 2 ? 'Wayne Foods' : 'Wayne Enterprises']);
    expect((await searchCustomers(a, 'wayne.com')).customers.map((c) => String(c.workspace_id))).toEqual([String(a)]);
    expect((await searchCustomers(a, 'waynefoods.com')).match).not.toBe('exact');
    expect((await searchCustomers(a, '#1')).customers.map((c) => String(c.workspace_id))).toEqual([String(a)]);
  });

  it('picks up billing versions at an incremental refresh, newest first', async () => {
    // default config here: no rebuilds, so only the refresh by written_at can see this
    const ws = new Types.ObjectId();
    const [c] = await createCustomers(ws, [{ name: 'Initrode', domain: 'initrode.com' }]);
    expect((await searchCustomers(ws, 'initrode')).customers[0]!.billing).toMatchObject({ payment_status: 'none', mrr: null });
    const before = customerSearchStats().builds;
    await writeBilling([{ workspaceId: ws, customerId: c!._id, billing: { ...noBilling(), mrr: 12_300, plan: 'Pro', payment_status: 'failing' } }]);
    invalidateCustomerSearch(ws);
    expect((await searchCustomers(ws, 'initrode')).customers[0]!.billing).toMatchObject({ payment_status: 'failing', mrr: 12_300, plan: 'Pro' });
    expect((await failingCustomers(ws)).map((x: { name: string }) => x.name)).toEqual(['Initrode']);
    await writeBilling([{ workspaceId: ws, customerId: c!._id, billing: { ...noBilling(), mrr: 12_300, plan: 'Pro', payment_status: 'paid' } }]);
    invalidateCustomerSearch(ws);
    expect(await failingCustomers(ws)).toEqual([]);
    expect(customerSearchStats().builds).toBe(before);
  });

  it('refreshes in the background while in use', async () => {
    configureCustomerSearch({ backgroundMs: 20 });
    const ws = new Types.ObjectId();
    await createCustomers(ws, [{ name: 'Soylent' }]);
    await searchCustomers(ws, 'soylent');
    await rawInsert(ws, 'Cyberdyne');
    // bounded wait for a background refresh (no staleness-triggered refresh is configured)
    const deadline = Date.now() + 10_000;
    let r = await searchCustomers(ws, 'cyberdyne');
    while (r.match !== 'exact' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50));
      r = await searchCustomers(ws, 'cyberdyne');
    }
    expect(names(r)).toEqual(['Cyberdyne']);
  });
});
