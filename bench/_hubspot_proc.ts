// The HubSpot fake in a child process, for the sync benchmark: 150k records of fake state
// (~170 MB) would otherwise count in the peak RSS that the benchmark reports for the sync.
// The parent sends { seed } once; answers { url }; on { stats } answers request counts;
// exits on { close } or when the parent goes away.
import { startFakeHubspot, type FakeHubspotOptions } from '../test/fakes/hubspot.ts';

export interface FakeSpec {
  options: FakeHubspotOptions;
  token: string;
  companies: number;
  contacts: number;
  /** domain label, so runs in one database never share domains */
  label: string;
}

process.once('message', async (spec: FakeSpec) => {
  const fake = await startFakeHubspot(spec.options);
  fake.addPrivateAppToken(spec.token);
  const n = spec.companies;
  const companies = fake.seedCompanies(n, (i) => ({ name: `Company ${i}`, domain: `c${i}.${spec.label}.example`, tier: i % 7 === 0 ? 'tier_1' : 'tier_2' }));
  if (spec.contacts) {
    fake.seedContacts(spec.contacts, (i) => ({ email: `p${i}@c${i % n}.${spec.label}.example`, firstname: `P${i}`, lastname: `L${i}` }), { companyId: (i) => companies[i % n] });
  }
  process.on('message', async (msg: { stats?: true; close?: true }) => {
    if (msg.stats) {
      const ok = fake.requests.filter((r) => r.status < 400).length;
      const throttled = fake.requests.filter((r) => r.status === 429).length;
      const times = fake.requests.filter((r) => r.status < 400).map((r) => r.at);
      process.send!({ ok, throttled, first: Math.min(...times), last: Math.max(...times) });
    }
    if (msg.close) {
      await fake.close();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ url: fake.url });
});
