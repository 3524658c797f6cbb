// The ways a workspace can connect a provider, as data: what the portal's connect
// forms, the 503 "OAuth is not configured" page and the connections list show. A new
// connector (Salesforce) appears by being registered; adding a way to connect is one entry.
import type { ConnectionRole, Provider } from '../models/connection.ts';
import { hasConnector } from '../connectors/registry.ts';
import { env } from '../env.ts';

export interface ConnectOption {
  /** the URL segment of /connections/new/:key */
  key: string;
  provider: Provider;
  role: ConnectionRole;
  label: string;
  summary: string;
  tokenLabel: string;
  tokenPlaceholder: string;
  /** where an admin gets a token, step by step */
  tokenHelp: string;
  /** environment variables that turn on the OAuth connect for this provider */
  oauthVariables: string[];
  /** Salesforce tokens are bound to an instance URL */
  needsInstanceUrl?: boolean;
}

export const CONNECT_OPTIONS: ConnectOption[] = [
  {
    key: 'hubspot', provider: 'hubspot', role: 'customer_source', label: 'HubSpot',
    summary: 'Companies become customers and their contacts come along; status, owner and plan are written back.',
    tokenLabel: 'Private app access token', tokenPlaceholder: 'pat-na1-…',
    tokenHelp: 'In HubSpot: Settings → Integrations → Private Apps → Create a private app. Give it the scopes crm.objects.companies.read/write, crm.objects.contacts.read, crm.objects.owners.read and crm.schemas.companies.read, then copy its access token.',
    oauthVariables: ['HUBSPOT_CLIENT_ID', 'HUBSPOT_CLIENT_SECRET'],
  },
  {
    key: 'salesforce', provider: 'salesforce', role: 'customer_source', label: 'Salesforce',
    summary: 'Accounts become customers and their contacts come along; status, owner and plan are written back.',
    tokenLabel: 'Access token', tokenPlaceholder: '00D…!AQ…',
    tokenHelp: 'In Salesforce: Setup → App Manager → your connected app, or run `sf org display` to print an access token and the instance URL of your org.',
    oauthVariables: ['SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'],
    needsInstanceUrl: true,
  },
  {
    key: 'stripe', provider: 'stripe', role: 'customer_source', label: 'Stripe (customer source)',
    summary: 'For product-led teams: every subscribing Stripe customer is a Pivotal customer, with billing attached.',
    tokenLabel: 'Secret or restricted key', tokenPlaceholder: 'rk_live_…',
    tokenHelp: 'In Stripe: Developers → API keys → Create restricted key, with Read access to Customers, Subscriptions, Invoices and Products. A test-mode key (rk_test_…) makes a test-mode connection.',
    oauthVariables: ['STRIPE_CLIENT_ID', 'STRIPE_SECRET_KEY'],
  },
  {
    key: 'stripe-billing', provider: 'stripe', role: 'billing_signal', label: 'Stripe (billing signal only)',
    summary: 'Next to HubSpot or Salesforce: plan, MRR and payment status attach to your customers by email domain. Read-only.',
    tokenLabel: 'Restricted key', tokenPlaceholder: 'rk_live_…',
    tokenHelp: 'In Stripe: Developers → API keys → Create restricted key, with Read access to Customers, Subscriptions, Invoices and Products (nothing else: Pivotal never writes to Stripe billing). A test-mode key (rk_test_…) makes a test-mode connection.',
    oauthVariables: ['STRIPE_CLIENT_ID', 'STRIPE_SECRET_KEY'],
  },
];

/** The options whose connector the composition root installed (all of them, once composed). */
export function connectOptions(): ConnectOption[] {
  return CONNECT_OPTIONS.filter((o) => hasConnector(o.provider));
}

export function connectOption(key: string): ConnectOption | null {
  return connectOptions().find((o) => o.key === key) ?? null;
}

/** Whether the provider's OAuth app is configured on this instance (else the token form is the way in). */
export function oauthConfigured(option: ConnectOption): boolean {
  const e = env() as unknown as Record<string, unknown>;
  return option.oauthVariables.every((v) => typeof e[v] === 'string' && e[v] !== '');
}

/** The OAuth start URL of an option (/connect/:provider with its role and mode). */
export function oauthStartPath(option: ConnectOption, mode?: 'live' | 'test'): string {
  const q = new URLSearchParams();
  if (option.role === 'billing_signal') q.set('role', 'billing_signal');
  if (mode) q.set('mode', mode);
  const qs = q.toString();
  return `/connect/${option.provider}${qs ? `?${qs}` : ''}`;
}

export const PROVIDER_LABELS: Record<string, string> = { hubspot: 'HubSpot', salesforce: 'Salesforce', stripe: 'Stripe' };
