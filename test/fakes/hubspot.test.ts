// Proves the HubSpot fake (test/fakes/hubspot.ts) behaves like HubSpot by driving it through the
// real @hubspot/api-client SDK: paging, search windows and the 10k cap, rate limits and the
// SDK's own retries, OAuth expiry/refresh, property and PATCH validation, webhook signatures.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Client, Signature } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/companies/index.js';
import { startFakeHubspot } from './hubspot.ts';
import type { FakeHubspot, FakeHubspotOptions, WebhookEvent } from './hubspot.ts';

const TOKEN = 'pat-na1-test-token';
const fakes: FakeHubspot[] = [];

async function start(opts: FakeHubspotOptions = {}): Promise<FakeHubspot> {
  const fake = await startFakeHubspot(opts);
  fake.addPrivateAppToken(TOKEN);
  fakes.push(fake);
  return fake;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

/**
 * The SDK keeps its retry/limiter decorators in a process-wide singleton that every `new Client()`
 * overwrites, and applies them when an API object is first touched. So touch the APIs right away,
 * or a later client's retry settings leak into this one.
 */
function sdk(fake: FakeHubspot, accessToken = TOKEN, numberOfApiCallRetries = 0): Client {
  const client = new Client({ accessToken, basePath: fake.url, numberOfApiCallRetries });
  void client.crm.companies.basicApi;
  void client.crm.contacts.basicApi;
  void client.crm.properties.coreApi;
  void client.crm.owners.ownersApi;
  void client.crm.lists.membershipsApi;
  void client.crm.associations.v4.batchApi;
  void client.oauth.tokensApi;
  return client;
}

interface SdkError {
  code: number;
  body: any;
  headers: Record<string, string>;
}

async function rejection(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err) {
    return err as SdkError;
  }
  throw new Error('expected the SDK call to fail');
}

describe('CRM objects through the SDK', () => {
  it('pages companies with the after cursor and hides archived records', async () => {
    const fake = await start();
    const ids = fake.seedCompanies(250, (i) => ({ name: `Co ${i}`, domain: `co${i}.example.com` }));
    const api = sdk(fake).crm.companies;

    const first = await api.basicApi.getPage(100, undefined, ['name', 'tier']);
    expect(first.results).toHaveLength(100);
    expect(first.results[0]?.properties).toEqual({ name: 'Co 0', tier: null });
    expect(first.paging?.next?.after).toBe(ids[100]);

    const all = await api.getAll(100, undefined, ['domain']);
    expect(all.map((c) => c.id)).toEqual(ids);
    expect(fake.countRequests('/crm/v3/objects/companies', 'GET')).toBe(1 + 3);

    // limit above HubSpot's max is a 400, not silently capped.
    const tooBig = await rejection(api.basicApi.getPage(101));
    expect(tooBig.code).toBe(400);
    expect(tooBig.body.category).toBe('VALIDATION_ERROR');

    await api.basicApi.archive(ids[5] as string);
    const live = await api.getAll(100);
    expect(live).toHaveLength(249);
    expect(live.some((c) => c.id === ids[5])).toBe(false);
    expect((await rejection(api.basicApi.getById(ids[5] as string))).code).toBe(404);
    const archived = await api.basicApi.getPage(10, undefined, undefined, undefined, undefined, true);
    expect(archived.results.map((c) => c.id)).toEqual([ids[5]]);
    expect(archived.results[0]?.archived).toBe(true);
  });

  it('pages contacts with their company associations (v3 embedded and v4 batch)', async () => {
    const fake = await start();
    const companies = fake.seedCompanies(3);
    const contacts = fake.seedContacts(5, (i) => ({ email: `c${i}@example.com` }), {
      companyId: (i) => (i < 4 ? companies[i % 2] : undefined),
    });
    fake.associate(companies[2] as string, contacts[0] as string); // a second, non-primary company
    const client = sdk(fake);

    const page = await client.crm.contacts.basicApi.getPage(100, undefined, ['email', 'associatedcompanyid'], undefined, ['companies']);
    const c0 = page.results[0];
    expect(c0?.properties.associatedcompanyid).toBe(companies[0]);
    // Primary associations come back twice (typed + unlabeled): callers must dedupe ids.
    expect(c0?.associations?.companies?.results).toEqual([
      { id: companies[0], type: 'contact_to_company' },
      { id: companies[0], type: 'contact_to_company_unlabeled' },
      { id: companies[2], type: 'contact_to_company_unlabeled' },
    ]);
    expect(page.results[4]?.associations).toBeUndefined();

    const company = await client.crm.companies.basicApi.getById(companies[0] as string, ['num_associated_contacts'], undefined, ['contacts']);
    expect(company.properties.num_associated_contacts).toBe('2');
    expect(new Set(company.associations?.contacts?.results.map((r) => r.id))).toEqual(new Set([contacts[0], contacts[2]]));

    const v4 = await client.crm.associations.v4.batchApi.getPage('companies', 'contacts', {
      inputs: [{ id: companies[1] as string }, { id: '999' }],
    });
    expect(v4.results).toHaveLength(1);
    expect(v4.results[0]?._from.id).toBe(companies[1]);
    // Runtime type is number even though the SDK types toObjectId as string.
    expect(v4.results[0]?.to.map((t) => String(t.toObjectId))).toEqual([contacts[1], contacts[3]]);
    expect(v4.results[0]?.to[0]?.associationTypes.map((t) => t.typeId)).toEqual([280, 2]);
    expect('errors' in v4 && v4.errors?.[0]?.subCategory).toBe('crm.associations.NO_ASSOCIATIONS_FOUND');
  });

  it('batch-reads with HubSpot limits and 207 for missing ids', async () => {
    const fake = await start();
    const ids = fake.seedCompanies(3, (i) => ({ name: `Co ${i}` }));
    const api = sdk(fake).crm.companies.batchApi;
    const res = await api.read({ inputs: [{ id: ids[0] as string }, { id: '1' }], properties: ['name'], propertiesWithHistory: [] });
    expect(res.results.map((r) => r.properties.name)).toEqual(['Co 0']);
    expect('errors' in res && res.errors?.[0]?.category).toBe('OBJECT_NOT_FOUND');
    const tooMany = await rejection(api.read({ inputs: Array.from({ length: 101 }, (_, i) => ({ id: String(i) })), properties: [], propertiesWithHistory: [] }));
    expect(tooMany.code).toBe(400);
  });

  it('validates PATCH properties like HubSpot and bumps hs_lastmodifieddate', async () => {
    const fake = await start();
    fake.addOwner({ email: 'owner@example.com', firstName: 'Olga', lastName: 'Owner' });
    const [id] = fake.seedCompanies(1, () => ({ name: 'Acme', hs_lastmodifieddate: '2024-01-01T00:00:00Z' }));
    const api = sdk(fake).crm.companies.basicApi;

    const unknown = await rejection(api.update(id as string, { properties: { no_such_prop: 'x' } }));
    expect(unknown.code).toBe(400);
    expect(unknown.body.category).toBe('VALIDATION_ERROR');
    expect(unknown.body.message).toContain('PROPERTY_DOESNT_EXIST');
    expect(unknown.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);

    const badOption = await rejection(api.update(id as string, { properties: { tier: 'tier_9' } }));
    expect(badOption.body.message).toContain('INVALID_OPTION');
    const readOnly = await rejection(api.update(id as string, { properties: { hs_object_id: '5' } }));
    expect(readOnly.body.message).toContain('READ_ONLY_VALUE');
    const badOwner = await rejection(api.update(id as string, { properties: { hubspot_owner_id: '1' } }));
    expect(badOwner.body.message).toContain('INVALID_OPTION');
    expect(fake.getRecord('companies', id as string)?.properties.hs_lastmodifieddate).toBe('2024-01-01T00:00:00.000Z');

    fake.takeWebhookEvents();
    const updated = await api.update(id as string, { properties: { tier: 'tier_1', annualrevenue: '120000' } });
    expect(updated.properties.tier).toBe('tier_1');
    expect(Date.parse(updated.properties.hs_lastmodifieddate as string)).toBeGreaterThan(Date.parse('2024-06-01'));
    expect(updated.updatedAt.toISOString()).toBe(updated.properties.hs_lastmodifieddate);
    const events = fake.takeWebhookEvents();
    expect(events.map((e) => [e.subscriptionType, e.propertyName, e.propertyValue, e.changeSource])).toEqual([
      ['company.propertyChange', 'tier', 'tier_1', 'INTEGRATION'],
      ['company.propertyChange', 'annualrevenue', '120000', 'INTEGRATION'],
    ]);
  });

  it('enforces token scopes with a 403 MISSING_SCOPES body', async () => {
    const fake = await start();
    fake.addPrivateAppToken('pat-contacts-only', ['crm.objects.contacts.read']);
    const err = await rejection(sdk(fake, 'pat-contacts-only').crm.companies.basicApi.getPage());
    expect(err.code).toBe(403);
    expect(err.body.category).toBe('MISSING_SCOPES');
    expect(err.body.errors[0].context.requiredGranularScopes).toEqual(['crm.objects.companies.read']);
  });
});

describe('account information', () => {
  it('answers GET /account-info/v3/details with the portal id, and 401 with HubSpot’s error body for a bad token', async () => {
    const fake = await start({ portalId: 62515 });
    const ok = await sdk(fake).apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ portalId: 62515, accountType: 'STANDARD', timeZone: expect.any(String), companyCurrency: 'USD', uiDomain: 'app.hubspot.com' });
    const bad = await sdk(fake, 'pat-unknown').apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION', message: expect.stringContaining('Authentication credentials not found'), correlationId: expect.any(String) });
  });
});

describe('search', () => {
  it('filters an hs_lastmodifieddate window and enforces the 10,000-result cap', async () => {
    const fake = await start();
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    fake.seedCompanies(12_000, (i) => ({ domain: `d${i}.example.com`, lifecyclestage: i % 3 === 0 ? 'customer' : 'lead' }), {
      startAt: t0,
      stepMs: 1000,
    });
    const search = sdk(fake).crm.companies.searchApi;
    const window = (after?: string, limit = 200) =>
      search.doSearch({
        filterGroups: [{
          filters: [{ propertyName: 'hs_lastmodifieddate', operator: FilterOperatorEnum.Between, value: String(t0), highValue: new Date(t0 + 10_499_000).toISOString() }],
        }],
        sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' } as unknown as string],
        properties: ['domain', 'hs_lastmodifieddate'],
        limit,
        after,
      });

    const first = await window();
    expect(first.total).toBe(10_500);
    expect(first.results[0]?.properties.domain).toBe('d0.example.com');
    expect(first.paging?.next?.after).toBe('200');

    const last = await window('9800');
    expect(last.results).toHaveLength(200);
    expect(last.results[199]?.properties.domain).toBe('d9999.example.com');
    expect(last.paging?.next?.after).toBe('10000');
    const capped = await rejection(window('10000'));
    expect(capped.code).toBe(400);
    expect(capped.body.category).toBe('VALIDATION_ERROR');
    expect(capped.body.status).toBe('error');
  });

  it('supports the documented operators', async () => {
    const fake = await start({ searchRateLimitPerSec: Infinity });
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    const ids = fake.seedCompanies(300, (i) => ({ domain: `d${i}.example.com`, lifecyclestage: i % 3 === 0 ? 'customer' : 'lead', ...(i % 10 === 0 ? { tier: 'tier_1' } : {}) }), { startAt: t0, stepMs: 1000 });
    const search = sdk(fake).crm.companies.searchApi;
    const total = async (filters: { propertyName: string; operator: string; value?: string; highValue?: string; values?: string[] }[]) =>
      (await search.doSearch({ filterGroups: [{ filters: filters as any }], limit: 1 })).total;

    expect(await total([{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(t0 + 100_000) }, { propertyName: 'hs_lastmodifieddate', operator: 'LT', value: String(t0 + 200_000) }])).toBe(100);
    expect(await total([{ propertyName: 'hs_lastmodifieddate', operator: 'GT', value: new Date(t0 + 298_000).toISOString() }])).toBe(1);
    expect(await total([{ propertyName: 'hs_lastmodifieddate', operator: 'LTE', value: String(t0 + 9000) }])).toBe(10);
    expect(await total([{ propertyName: 'lifecyclestage', operator: 'EQ', value: 'customer' }])).toBe(100);
    expect(await total([{ propertyName: 'lifecyclestage', operator: 'NEQ', value: 'customer' }])).toBe(200);
    expect(await total([{ propertyName: 'domain', operator: 'EQ', value: 'D7.example.com' }])).toBe(1);
    expect(await total([{ propertyName: 'hs_object_id', operator: 'IN', values: [ids[1] as string, ids[2] as string, '42'] }])).toBe(2);
    expect(await total([{ propertyName: 'tier', operator: 'HAS_PROPERTY' }])).toBe(30);
    expect(await total([{ propertyName: 'tier', operator: 'NOT_HAS_PROPERTY' }])).toBe(270);
    // filterGroups are ORed.
    const ored = await search.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: ids[0] } as any] },
        { filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: ids[1] } as any] },
      ],
      sorts: ['-hs_object_id'],
    });
    expect(ored.results.map((r) => r.id)).toEqual([ids[1], ids[0]]);

    const unknownProp = await rejection(total([{ propertyName: 'nope', operator: 'EQ', value: 'x' }]));
    expect(unknownProp.code).toBe(400);
    const tooBig = await rejection(search.doSearch({ limit: 201 }));
    expect(tooBig.code).toBe(400);
    const missingValue = await rejection(total([{ propertyName: 'domain', operator: 'BETWEEN', value: 'a' }]));
    expect(missingValue.code).toBe(400);
  });
});

describe('rate limits and faults', () => {
  it('answers 429 with HubSpot body and headers, and the SDK retries it after its own fixed 10 s wait', async () => {
    const fake = await start({ rateLimit: { requests: 2, windowMs: 1000 } });
    fake.seedCompanies(1);
    const plain = sdk(fake).crm.companies.basicApi;

    const ok = await plain.getPageWithHttpInfo(1);
    expect(ok.headers['x-hubspot-ratelimit-max']).toBe('2');
    expect(ok.headers['x-hubspot-ratelimit-remaining']).toBe('1');
    expect(ok.headers['x-hubspot-ratelimit-interval-milliseconds']).toBe('1000');
    await plain.getPage(1);
    const limited = await rejection(plain.getPage(1));
    expect(limited.code).toBe(429);
    expect(limited.body).toMatchObject({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.headers['x-hubspot-ratelimit-remaining']).toBe('0');

    // The SDK ignores Retry-After: on TEN_SECONDLY_ROLLING it sleeps 10 s x attempt. Record the
    // delay it asks for and shorten it (to just past the fake's 1 s window) to keep the test quick.
    const realSetTimeout = globalThis.setTimeout;
    const asked: number[] = [];
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if (ms !== undefined && ms >= 10_000 && ms <= 60_000 && ms % 1000 === 0) {
        asked.push(ms);
        return realSetTimeout(fn, 1100);
      }
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const retrying = sdk(fake, TOKEN, 2).crm.companies.basicApi;
    await new Promise((r) => realSetTimeout(r, 1000));
    fake.resetRequestLog();
    await retrying.getPage(1);
    await retrying.getPage(1);
    const third = await retrying.getPage(1); // 429, SDK waits, retries, 200
    expect(third.results).toHaveLength(1);
    expect(asked).toEqual([10_000]);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 429, 200]);
  });

  it('limits search to 5 requests/second per token; the SDK retries that one after 1 s', async () => {
    const fake = await start();
    const body = { filterGroups: [], limit: 1 };
    const plain = sdk(fake).crm.companies.searchApi;
    const settled = await Promise.allSettled(Array.from({ length: 6 }, () => plain.doSearch(body)));
    const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0]?.reason as SdkError).code).toBe(429);
    expect((rejected[0]?.reason as SdkError).body.message).toBe('You have reached your secondly limit.');
    // Non-search endpoints are unaffected by the search limiter.
    await sdk(fake).crm.companies.basicApi.getPage(1);

    vi.spyOn(console, 'error').mockImplementation(() => {});
    await new Promise((r) => setTimeout(r, 1000));
    const retrying = sdk(fake, TOKEN, 3).crm.companies.searchApi;
    const results = await Promise.all(Array.from({ length: 6 }, () => retrying.doSearch(body)));
    expect(results).toHaveLength(6);
  });

  it('injects 5xx faults; the SDK retries them (numberOfApiCallRetries = total attempts)', async () => {
    const fake = await start();
    fake.seedCompanies(1);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    fake.failNext(2, 502);
    const res = await sdk(fake, TOKEN, 3).crm.companies.basicApi.getPage(1);
    expect(res.results).toHaveLength(1);
    expect(fake.requests.map((r) => r.status)).toEqual([502, 502, 200]);

    fake.failNext(1, 503, '/crm/v3/objects/contacts');
    const plain = sdk(fake);
    await plain.crm.companies.basicApi.getPage(1);
    expect((await rejection(plain.crm.contacts.basicApi.getPage(1))).code).toBe(503);
  });
});

describe('OAuth', () => {
  it('exchanges a code, rejects an expired token with 401, refreshes, and fails once refresh tokens are revoked', async () => {
    const fake = await start({ clientId: 'cid', clientSecret: 'csecret', portalId: 777 });
    fake.seedCompanies(1);
    const redirect = 'https://pivotal.example.com/oauth/callback';
    const oauth = sdk(fake, '').oauth;

    const badSecret = await rejection(oauth.tokensApi.create('authorization_code', fake.issueAuthCode(), redirect, 'cid', 'nope'));
    expect(badSecret.code).toBe(400);

    const code = fake.issueAuthCode({ redirectUri: redirect });
    const wrongRedirect = await rejection(oauth.tokensApi.create('authorization_code', code, 'https://evil.example.com', 'cid', 'csecret'));
    expect(wrongRedirect.code).toBe(400);
    const tokens = await oauth.tokensApi.create('authorization_code', code, redirect, 'cid', 'csecret');
    expect(tokens.tokenType).toBe('bearer');
    expect(tokens.expiresIn).toBe(1800);
    const reused = await rejection(oauth.tokensApi.create('authorization_code', code, redirect, 'cid', 'csecret'));
    expect(reused.body.status).toBe('BAD_AUTH_CODE');

    const info = await oauth.accessTokensApi.get(tokens.accessToken);
    expect(info.hubId).toBe(777);
    expect(info.scopes).toContain('crm.objects.companies.read');
    expect(info.expiresIn).toBeGreaterThan(1700);

    expect((await sdk(fake, tokens.accessToken).crm.companies.basicApi.getPage(1)).results).toHaveLength(1);
    fake.expireAllTokens();
    const expired = await rejection(sdk(fake, tokens.accessToken).crm.companies.basicApi.getPage(1));
    expect(expired.code).toBe(401);
    expect(expired.body.category).toBe('EXPIRED_AUTHENTICATION');

    const refreshed = await oauth.tokensApi.create('refresh_token', undefined, undefined, 'cid', 'csecret', tokens.refreshToken);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.refreshToken).toBe(tokens.refreshToken);
    expect((await sdk(fake, refreshed.accessToken).crm.companies.basicApi.getPage(1)).results).toHaveLength(1);

    fake.revokeRefreshTokens();
    const revoked = await rejection(oauth.tokensApi.create('refresh_token', undefined, undefined, 'cid', 'csecret', tokens.refreshToken));
    expect(revoked.code).toBe(400);
    expect(revoked.body).toMatchObject({ status: 'BAD_REFRESH_TOKEN', message: 'missing or invalid refresh token' });

    const unknown = await rejection(sdk(fake, 'made-up').crm.companies.basicApi.getPage(1));
    expect(unknown.code).toBe(401);
    expect(unknown.body.category).toBe('INVALID_AUTHENTICATION');
  });

  it('expires access tokens by the configured TTL on the fake clock', async () => {
    let now = Date.parse('2025-03-01T00:00:00Z');
    const fake = await start({ accessTokenTtlMs: 60_000, now: () => now });
    const code = fake.issueAuthCode();
    const tokens = await sdk(fake, '').oauth.tokensApi.create('authorization_code', code, 'https://x.example.com/cb', fake.clientId, fake.clientSecret);
    expect(tokens.expiresIn).toBe(60);
    await sdk(fake, tokens.accessToken).crm.companies.basicApi.getPage(1);
    now += 61_000;
    expect((await rejection(sdk(fake, tokens.accessToken).crm.companies.basicApi.getPage(1))).body.category).toBe('EXPIRED_AUTHENTICATION');
  });
});

describe('properties, owners, lists', () => {
  it('serves property definitions, 404s unknown ones and 409s duplicates', async () => {
    const fake = await start();
    const core = sdk(fake).crm.properties.coreApi;
    const all = await core.getAll('companies');
    const tier = all.results.find((p) => p.name === 'tier');
    expect(tier).toMatchObject({ type: 'enumeration', fieldType: 'select', hubspotDefined: false });
    expect(tier?.options.map((o) => o.value)).toEqual(['tier_1', 'tier_2', 'tier_3']);
    for (const name of ['name', 'domain', 'hubspot_owner_id', 'annualrevenue', 'industry', 'numberofemployees', 'createdate', 'lifecyclestage', 'hs_lastmodifieddate', 'notes_last_updated', 'hs_last_activity_date']) {
      expect(all.results.some((p) => p.name === name), name).toBe(true);
    }
    expect((await rejection(core.getByName('companies', 'health_score'))).code).toBe(404);

    const spec = { name: 'health_score', label: 'Health score', type: 'number', fieldType: 'number', groupName: 'companyinformation' } as const;
    const created = await core.create('companies', spec as any);
    expect(created.name).toBe('health_score');
    expect((await core.getByName('companies', 'health_score')).type).toBe('number');
    const dup = await rejection(core.create('companies', spec as any));
    expect(dup.code).toBe(409);
    expect(dup.body.category).toBe('OBJECT_ALREADY_EXISTS');
    const bad = await rejection(core.create('companies', { ...spec, name: 'bad', fieldType: 'select' } as any));
    expect(bad.code).toBe(400);

    // The new property is writable immediately.
    const [id] = fake.seedCompanies(1);
    const upd = await sdk(fake).crm.companies.basicApi.update(id as string, { properties: { health_score: '71' } });
    expect(upd.properties.health_score).toBe('71');
  });

  it('pages owners and list memberships', async () => {
    const fake = await start();
    for (let i = 0; i < 3; i++) fake.addOwner({ email: `o${i}@example.com`, firstName: `O${i}`, lastName: 'Wner' });
    const client = sdk(fake);
    const p1 = await client.crm.owners.ownersApi.getPage(undefined, undefined, 2);
    expect(p1.results.map((o) => o.email)).toEqual(['o0@example.com', 'o1@example.com']);
    const p2 = await client.crm.owners.ownersApi.getPage(undefined, p1.paging?.next?.after, 2);
    expect(p2.results.map((o) => o.email)).toEqual(['o2@example.com']);
    expect(p2.paging).toBeUndefined();
    expect(p2.results[0]?.userId).toBeTypeOf('number');

    const ids = fake.seedCompanies(5);
    const listId = fake.createList('Key accounts', ids.slice(0, 3));
    const m1 = await client.crm.lists.membershipsApi.getPage(listId, undefined, undefined, 2);
    expect(m1.results.map((m) => m.recordId)).toEqual(ids.slice(0, 2));
    const m2 = await client.crm.lists.membershipsApi.getPage(listId, m1.paging?.next?.after, undefined, 2);
    expect(m2.results.map((m) => m.recordId)).toEqual([ids[2]]);
    expect((await rejection(client.crm.lists.membershipsApi.getPage('999'))).code).toBe(404);
  });
});

describe('webhooks', () => {
  async function receiver(status = 204) {
    const got: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/hubspot?portal=1`;
    return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it('signs v3 as HMAC-SHA256(method + uri + body + timestamp) and matches the SDK validator', async () => {
    const fake = await start({ clientSecret: 'app-secret' });
    const body = '[{"eventId":1}]';
    const headers = fake.signWebhook({ url: 'https://example.com/hooks?x=1', method: 'POST', body, secret: 'app-secret', timestamp: 1_700_000_000_000 });
    const expected = createHmac('sha256', 'app-secret').update('POSThttps://example.com/hooks?x=1[{"eventId":1}]1700000000000').digest('base64');
    expect(headers).toEqual({ 'X-HubSpot-Signature-v3': expected, 'X-HubSpot-Request-Timestamp': '1700000000000' });

    const rx = await receiver();
    try {
      const { events } = fake.createCompany({ name: 'Hooked', domain: 'hooked.example.com' });
      expect(events.map((e) => e.subscriptionType)).toEqual(['company.creation', 'company.propertyChange', 'company.propertyChange']);
      // Tests can drop, reorder or duplicate events before delivering them.
      const shuffled = [events[2], events[0], events[0]] as WebhookEvent[]; // dropped events[1]
      expect(await fake.deliverWebhooks(rx.url, shuffled)).toBe(204);
      const req = rx.got[0];
      expect(JSON.parse(req?.body ?? '')).toEqual(shuffled);
      const ts = Number(req?.headers['x-hubspot-request-timestamp']);
      expect(Math.abs(Date.now() - ts)).toBeLessThan(5000);
      expect(Signature.isValid({
        signatureVersion: 'v3',
        signature: req?.headers['x-hubspot-signature-v3'] as string,
        clientSecret: 'app-secret',
        method: 'POST',
        url: rx.url,
        requestBody: req?.body ?? '',
        timestamp: ts,
      })).toBe(true);
      expect(Signature.isValid({ signatureVersion: 'v3', signature: req?.headers['x-hubspot-signature-v3'] as string, clientSecret: 'other', method: 'POST', url: rx.url, requestBody: req?.body ?? '', timestamp: ts })).toBe(false);
    } finally {
      await rx.close();
    }
  });

  it("reproduces HubSpot's documented v1 signature vector and reports the receiver's status", async () => {
    const fake = await start();
    const rx = await receiver(500);
    try {
      // Example from HubSpot's "v1 request validation" docs.
      const events = [{ eventId: 1, subscriptionId: 12345, portalId: 62515, occurredAt: 1564113600000, subscriptionType: 'contact.creation', attemptNumber: 0, objectId: 123, changeSource: 'CRM', changeFlag: 'NEW', appId: 54321 }] as WebhookEvent[];
      const status = await fake.deliverWebhooks(rx.url, events, { secret: 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy' });
      expect(status).toBe(500);
      expect(rx.got[0]?.headers['x-hubspot-signature']).toBe('232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de');
      expect(rx.got[0]?.headers['x-hubspot-signature-version']).toBe('v1');
      expect(createHash('sha256').update(`yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy${rx.got[0]?.body}`).digest('hex')).toBe(rx.got[0]?.headers['x-hubspot-signature']);
    } finally {
      await rx.close();
    }
  });

  it('emits association and deletion events from mutators', async () => {
    const fake = await start();
    const co = fake.createCompany({ name: 'A' });
    const ct = fake.createContact({ email: 'a@example.com' });
    fake.takeWebhookEvents();
    const assoc = fake.associate(co.id, ct.id);
    expect(assoc.map((e) => [e.subscriptionType, e.fromObjectId, e.toObjectId, e.isPrimaryAssociation])).toEqual([
      ['company.associationChange', Number(co.id), Number(ct.id), true],
      ['contact.associationChange', Number(ct.id), Number(co.id), true],
    ]);
    const del = fake.deleteCompany(co.id);
    expect(del.archived).toBe(true);
    expect(del.events.map((e) => [e.subscriptionType, e.changeFlag])).toEqual([['company.deletion', 'DELETED']]);
    expect(fake.takeWebhookEvents()).toHaveLength(3);
  });
});

describe('scale', () => {
  // Speed is the sync benchmark's business (npm run bench); this checks the deep page is right at scale.
  it('seeds 50k companies + 100k contacts and serves a deep page with its associations', async () => {
    const fake = await start();
    const companies = fake.seedCompanies(50_000, (i) => ({ name: `Company ${i}`, domain: `c${i}.example.com`, tier: i % 7 === 0 ? 'tier_1' : 'tier_2' }));
    fake.seedContacts(100_000, (i) => ({ email: `p${i}@example.com`, firstname: `P${i}` }), { companyId: (i) => companies[i % companies.length] });
    const api = sdk(fake).crm.companies.basicApi;
    const deep = await api.getPage(100, companies[49_850], ['name', 'tier'], undefined, ['contacts']);
    expect(deep.results).toHaveLength(100);
    expect(deep.results[0]?.associations?.contacts?.results.length).toBe(4);
    expect(deep.paging?.next?.after).toBe(companies[49_950]);
  });
});
