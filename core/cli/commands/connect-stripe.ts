// `pivotal connect stripe --workspace ID --token KEY [--billing-signal-only] [--mode live|test]
// [--webhook-secret WHSEC]`: connects a Stripe account with a secret or restricted key, as
// the customer source or (with --billing-signal-only) as the billing signal. The key is
// checked against Stripe first, so a typo fails here rather than in the first sync.
import type { Command } from 'commander';
import { connectSource } from '../../sync/connections.ts';
import { AppError } from '../../errors.ts';
import { env } from '../../env.ts';
import { ConnectorError } from '../../connectors/connector.ts';
import { createStripeClient, stripeCall, type Stripe } from '../../connectors/stripe/client.ts';
import { jsonOption, oneOf, requireOption, useDatabase } from '../runtime.ts';
import { printJson, printLine } from '../output.ts';
import { connectGroup } from './connect-hubspot.ts';
import { secretOption, SECRET_HELP } from '../secrets.ts';

const KEY = /^(sk|rk)_(live|test)_[A-Za-z0-9_]+$/;

/** What Pivotal reads (and all it reads): a restricted key needs read access to each. */
const NEEDED_READS: [string, (stripe: Stripe) => Promise<unknown>][] = [
  ['Customers', (stripe) => stripe.customers.list({ limit: 1 })],
  ['Subscriptions', (stripe) => stripe.subscriptions.list({ limit: 1 })],
  ['Invoices', (stripe) => stripe.invoices.list({ limit: 1 })],
  ['Products', (stripe) => stripe.products.list({ limit: 1 })],
];

/**
 * Checks the key shape and mode, then that Stripe accepts it for every read a sync makes
 * (reads only, never a write), so a typo or a restricted key missing a permission fails
 * here, saying which, rather than in the first sync.
 */
export async function verifyStripeKey(token: string, mode?: 'live' | 'test'): Promise<'live' | 'test'> {
  const m = KEY.exec(token);
  if (!m) throw new AppError('bad_input', '--token must be a Stripe secret or restricted key (sk_live_…, sk_test_…, rk_live_…, rk_test_…)');
  const keyMode = m[2] as 'live' | 'test';
  if (mode && mode !== keyMode) throw new AppError('bad_input', `--mode ${mode} does not match the ${keyMode}-mode key; live and test mode are separate connections`);
  const stripe = createStripeClient(token, { maxNetworkRetries: 1 });
  for (const [label, read] of NEEDED_READS) {
    try {
      await stripeCall(() => read(stripe));
    } catch (e) {
      if (!(e instanceof ConnectorError && e.code === 'auth_expired')) throw e;
      if (e.status === 403) {
        throw new AppError('bad_input', `Stripe rejected the key: it cannot read ${label}. Give the restricted key read access to ${NEEDED_READS.map(([l]) => l).join(', ')}`);
      }
      throw new AppError('bad_input', `Stripe rejected the key: ${e.message.replace(/Invalid API Key provided: \S+/, 'invalid API key')}`);
    }
  }
  return keyMode;
}

export function registerConnectStripe(program: Command): void {
  jsonOption(
    connectGroup(program)
      .command('stripe')
      .description('connect Stripe with a secret or restricted key; prints the connection id')
      .option('--workspace <id>', 'workspace id')
      .option('--token <key>', `Stripe secret (sk_…) or restricted (rk_…) key ${SECRET_HELP}`)
      .option('--billing-signal-only', 'attach billing to existing customers (next to HubSpot/Salesforce); never creates customers')
      .option('--mode <mode>', 'live or test (default: the key’s mode)')
      .option('--webhook-secret <whsec>', `the endpoint secret of POST /webhooks/stripe/<connection id> ${SECRET_HELP}`)
      .option('--match-personal-emails', 'also match customers by personal email domains (gmail.com, …)'),
  ).action(async (opts: { workspace?: string; token?: string; billingSignalOnly?: boolean; mode?: string; webhookSecret?: string; matchPersonalEmails?: boolean; json?: boolean }) => {
    const workspaceId = requireOption(opts.workspace, '--workspace');
    const token = requireOption(await secretOption(opts.token, '--token'), '--token');
    const webhookSecret = await secretOption(opts.webhookSecret, '--webhook-secret');
    const wanted = oneOf(opts.mode, ['live', 'test'] as const, '--mode');
    if (webhookSecret !== undefined && !/^whsec_\S+$/.test(webhookSecret)) throw new AppError('bad_input', '--webhook-secret must be a Stripe endpoint secret (whsec_…)');
    await useDatabase();
    const mode = await verifyStripeKey(token, wanted);
    const role = opts.billingSignalOnly ? 'billing_signal' : 'customer_source';
    const conn = await connectSource({
      workspaceId, provider: 'stripe', role, authType: 'token', mode, credentials: { accessToken: token },
      webhookSecret: webhookSecret ?? null,
      settings: { mode, ...(opts.matchPersonalEmails ? { match_personal_emails: true } : {}) },
    });
    const webhookUrl = `${env().APP_URL.replace(/\/$/, '')}/webhooks/stripe/${String(conn._id)}`;
    if (opts.json) printJson({ connection_id: String(conn._id), workspace_id: String(conn.workspace_id), provider: 'stripe', role, mode, state: conn.state, webhook_url: webhookUrl, webhook_secret_set: !!webhookSecret });
    else printLine(String(conn._id));
  });
}
