// `pivotal connect salesforce --workspace ID --instance-url URL --token T [--refresh-token R]`:
// connects Salesforce as the workspace's customer source with an access token (and, to
// outlive the session, a refresh token of the SALESFORCE_CLIENT_ID connected app). The
// token is checked with one identity call before anything is saved.
import type { Command } from 'commander';
import { connectSource } from '../../sync/connections.ts';
import { verifySalesforceCredentials } from '../../connectors/salesforce/index.ts';
import { ConnectorError, type Credentials } from '../../connectors/connector.ts';
import { AppError, redactSecrets } from '../../errors.ts';
import { jsonOption, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';
import { connectGroup } from './connect-hubspot.ts';
import { secretOption, SECRET_HELP } from '../secrets.ts';

function instanceUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AppError('bad_input', `--instance-url must be a URL such as https://yourcompany.my.salesforce.com, not "${raw}"`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AppError('bad_input', '--instance-url must start with https://');
  return u.origin;
}

export function registerConnectSalesforce(program: Command): void {
  jsonOption(
    connectGroup(program)
      .command('salesforce')
      .description('connect Salesforce with an access token; prints the connection id')
      .option('--workspace <id>', 'workspace id')
      .option('--instance-url <url>', 'the org’s instance URL, e.g. https://yourcompany.my.salesforce.com')
      .option('--token <token>', `Salesforce access token (session id) ${SECRET_HELP}`)
      .option('--refresh-token <token>', `refresh token of the SALESFORCE_CLIENT_ID connected app, to renew the session ${SECRET_HELP}`),
  ).action(async (opts: { workspace?: string; instanceUrl?: string; token?: string; refreshToken?: string; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const url = instanceUrl(requireOption(opts.instanceUrl, '--instance-url'));
    const token = requireOption(await secretOption(opts.token, '--token'), '--token');
    const refreshToken = (await secretOption(opts.refreshToken, '--refresh-token')) ?? null;
    let credentials: Credentials = { accessToken: token, refreshToken, instanceUrl: url };
    let org;
    try {
      org = await verifySalesforceCredentials(credentials, (next) => (credentials = { ...credentials, ...next }));
    } catch (e) {
      if (e instanceof ConnectorError) throw new AppError('bad_input', redactSecrets(`Salesforce did not accept these credentials: ${e.message}`));
      throw e;
    }
    credentials.accountId = org.orgId;
    await useDatabase();
    const conn = await connectSource({ workspaceId, provider: 'salesforce', role: 'customer_source', authType: 'token', credentials, externalAccountId: org.orgId });
    if (opts.json) printJson({ connection_id: String(conn._id), workspace_id: String(conn.workspace_id), provider: 'salesforce', state: conn.state, organization_id: org.orgId });
    else printLine(String(conn._id));
  });
}
