// Customer search on MongoDB indexes (core/customers/search.ts): the matching ladder, archived
// customers never offered, and pathological input kept cheap (a 65,000-character name is capped
// when stored and when compared, so a lookup costs what an ordinary one does).
import { Types } from 'mongoose';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { searchCustomers } from '../../core/customers/search.ts';
import { Customer, MAX_NAME_LENGTH } from '../../core/models/customer.ts';
import { MAX_KEY_LENGTH } from '../../core/customers/text.ts';
import { ensureDisplayIdCounter } from '../../core/models/counter.ts';

useTestDatabase('customer_search');
const ws = new Types.ObjectId();

beforeAll(async () => {
  await ensureDisplayIdCounter(ws);
  await createCustomers(ws, [
    { name: 'Acme Corporation', domain: 'acme.com' },
    { name: 'Acme Rockets', domain: 'acmerockets.io' },
    { name: 'Globex', domain: 'globex.com', status: 'archived' },
    { name: 'Initech', domain: 'initech.com', status: 'churned' },
    { name: `Huge ${'x'.repeat(65_000)}`, domain: 'huge.example' },
  ]);
});

describe('customer search', () => {
  it('climbs the ladder: display id, exact, prefix, typo-tolerant', async () => {
    expect((await searchCustomers(ws, '#2')).customers.map((c) => c.name)).toEqual(['Acme Rockets']);
    expect((await searchCustomers(ws, 'acme.com')).match).toBe('exact');
    const prefix = await searchCustomers(ws, 'acm');
    expect(prefix.match).toBe('prefix');
    expect(prefix.customers.map((c) => c.name)).toEqual(['Acme Corporation', 'Acme Rockets']);
    const typo = await searchCustomers(ws, 'initeck');
    expect(typo.match).toBe('fuzzy');
    expect(typo.customers[0].name).toBe('Initech'); // churned stays searchable
  });

  it('never offers archived customers', async () => {
    expect((await searchCustomers(ws, 'globex')).customers).toEqual([]);
    expect((await searchCustomers(ws, '#3')).match).not.toBe('display_id');
  });

  it('caps a 65,000-character name when stored and in its search keys', async () => {
    const huge = await Customer.findOne({ workspace_id: ws, domain: 'huge.example' }).lean();
    expect(huge!.name.length).toBe(MAX_NAME_LENGTH);
    expect(huge!.name_lower.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(huge!.search_grams.length).toBeLessThan(20);
    const r = await searchCustomers(ws, `hugh ${'x'.repeat(150)}`);
    expect(r.customers.map((c) => c.domain)).toEqual(['huge.example']);
  });

  it('finds a mistyped whole name in a book where every word is common', async () => {
    // 2,000 names from 10 words: every trigram of the query is shared by hundreds of customers
    const crowd = new Types.ObjectId();
    const words = ['acme', 'globex', 'initech', 'umbrella', 'stark', 'wayne', 'wonka', 'tyrell', 'hooli', 'vandelay'];
    await ensureDisplayIdCounter(crowd);
    await createCustomers(crowd, Array.from({ length: 2000 }, (_, i) => ({ name: `${words[i % 10]} ${words[Math.floor(i / 10) % 10]} Labs ${i}`, domain: null })));
    for (const typed of ['acm wayne Labs 1450', 'acme wanye Labs 1450', 'acme wayne Lab 1450']) {
      const r = await searchCustomers(crowd, typed);
      expect(r.match).toBe('fuzzy');
      expect(r.customers[0].name).toBe('acme wayne Labs 1450');
    }
  });

  it('refuses an over-long query with a clear message', async () => {
    await expect(searchCustomers(ws, 'q'.repeat(1000))).rejects.toThrow(/too long/);
  });

  it('finds the customer meant by a typo when its rarest trigrams are shared by a hundred others', async () => {
    // Found by the Slack bench at 100,000 customers: "Ped Umbrella Energy 71271" answered with
    // "Pied Umbrella Energy 11271", because each trigram read took a sample of its customers
    // that missed the one meant. Here the 150 look-alikes come first in every posting.
    const other = new Types.ObjectId();
    await ensureDisplayIdCounter(other);
    await createCustomers(other, Array.from({ length: 150 }, (_, i) => ({ name: `Pied Umbrella Energy ${i + 1}71271` })));
    await createCustomers(other, [{ name: 'Pied Umbrella Energy 71271' }]);
    const r = await searchCustomers(other, 'Ped Umbrella Energy 71271');
    expect(r.match).toBe('fuzzy');
    expect(r.customers[0].name).toBe('Pied Umbrella Energy 71271');
  });
});
