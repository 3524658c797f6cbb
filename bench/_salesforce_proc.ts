// The Salesforce fake in a child process, for the Salesforce benchmark: its in-memory org
// would otherwise count in the peak RSS reported for the sync. The parent sends
// { options, accounts, contactsPerAccount } once and gets { url, accessToken }; on
// { stats } it answers request counts; it exits on { close } or when the parent goes away.
import { startFakeSalesforce, type FakeSalesforceOptions } from '../test/fakes/salesforce.ts';

export interface SalesforceFakeSpec {
  options: FakeSalesforceOptions;
  accounts: number;
  contactsPerAccount: number;
}

export interface SalesforceFakeStats {
  api: number;
  query: number;
  bulkResults: number;
}

process.once('message', async (spec: SalesforceFakeSpec) => {
  const fake = await startFakeSalesforce(spec.options);
  fake.seedAccounts(spec.accounts, { contactsPerAccount: spec.contactsPerAccount });
  const { accessToken } = fake.issueToken({ withRefresh: false });
  process.on('message', async (msg: { stats?: true; close?: true }) => {
    if (msg.stats) process.send!({ api: fake.stats.api, query: fake.stats.query, bulkResults: fake.stats.bulkResults } satisfies SalesforceFakeStats);
    if (msg.close) {
      await fake.close();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ url: fake.url, accessToken });
});
