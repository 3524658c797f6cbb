// The Stripe connector, in both roles. As a customer source (PLG workspaces) Stripe
// customers become Pivotal customers (no contacts) through the shared engine, and the only
// writeback is `metadata.pivotal_status` on the Stripe customer, when the toggle is on.
// As a billing signal (and after each source walk) it hands the engine billing reads
// (billing-reads.ts); the engine matches and writes them. Nothing in this folder ever
// writes subscriptions, invoices, prices or payments.
import { ConnectorError, type Connector, type ConnectorContext, type Credentials, type SourceRecord } from '../connector.ts';
import { domainFromEmail } from '../../domain.ts';
import { env } from '../../env.ts';
import { stripeDashboardUrl } from '../../customers/view.ts';
import { createStripeClient, listAll, loadProductNames, mapSubscription, stripeCall, type Stripe } from './client.ts';
import { readStripeBook, readStripeCustomer, scopeOf } from './billing-reads.ts';
import { hasItemInScope, type BillingScope } from '../../billing/mrr.ts';

function client(ctx: ConnectorContext): Stripe {
  return createStripeClient(ctx.credentials().accessToken);
}

function toRecord(c: Stripe.Customer | Stripe.DeletedCustomer, livemode: boolean): SourceRecord {
  if ((c as Stripe.DeletedCustomer).deleted) return { kind: 'customer', objectType: 'customer', externalId: c.id, modifiedAt: null, deleted: true, fields: {} };
  const cust = c as Stripe.Customer;
  return {
    kind: 'customer',
    objectType: 'customer',
    externalId: cust.id,
    // Stripe has no "updated" stamp on customers; the content hash catches edits.
    modifiedAt: null,
    fields: {
      name: cust.name ?? cust.email ?? cust.id,
      email: cust.email ?? null,
      domain: domainFromEmail(cust.email),
      description: cust.description ?? null,
      created: new Date(cust.created * 1000).toISOString(),
      pivotal_status: cust.metadata?.pivotal_status ?? null,
      ...Object.fromEntries(Object.entries(cust.metadata ?? {}).map(([k, v]) => [`metadata.${k}`, v])),
    },
    url: stripeDashboardUrl(cust.id, livemode),
  };
}

/**
 * The source filter of Stripe as the customer source is the connection's subscription
 * scope (PRODUCT.md): a Stripe customer is a customer while it has a live subscription in
 * scope (any status but canceled and never-started; trials and failing payments count).
 * A customer that loses its last one leaves the filter and is archived, not deleted.
 */
const LIVE_SUBSCRIPTION = new Set(['active', 'past_due', 'trialing', 'unpaid', 'paused']);

function keepsCustomer(sub: Stripe.Subscription, scope: BillingScope): boolean {
  return LIVE_SUBSCRIPTION.has(sub.status) && hasItemInScope(mapSubscription(sub, new Map()), scope);
}

// The account's subscribed customers, cached briefly so a walk does not re-list them per page.
const subscribedCache = new Map<string, { at: number; scope: string; ids: Set<string> }>();
async function subscribedCustomers(ctx: ConnectorContext, stripe: Stripe, fresh: boolean): Promise<Set<string>> {
  const scope = scopeOf(ctx.settings);
  const key = JSON.stringify(scope);
  const hit = subscribedCache.get(ctx.connectionId);
  if (!fresh && hit && hit.scope === key && Date.now() - hit.at < 60_000) return hit.ids;
  const ids = new Set<string>();
  // Without a status, Stripe lists every subscription that is not canceled.
  for await (const page of listAll((p) => stripe.subscriptions.list(p))) {
    for (const sub of page) if (keepsCustomer(sub, scope)) ids.add(typeof sub.customer === 'string' ? sub.customer : sub.customer.id);
  }
  subscribedCache.set(ctx.connectionId, { at: Date.now(), scope: key, ids });
  return ids;
}

async function isSubscribed(ctx: ConnectorContext, stripe: Stripe, customerId: string): Promise<boolean> {
  const scope = scopeOf(ctx.settings);
  for await (const page of listAll((p) => stripe.subscriptions.list({ ...p, customer: customerId }))) if (page.some((sub) => keepsCustomer(sub, scope))) return true;
  return false;
}

const OUT_OF_SCOPE = { outOfScope: true, outOfScopeReason: 'no live subscription in the subscription scope' } as const;

const livemodeOf = (ctx: ConnectorContext) => ctx.settings.mode !== 'test' && !String(ctx.credentials().accessToken).includes('_test_');

export const stripeConnector: Connector = {
  provider: 'stripe',
  capabilities: { contacts: false, customFields: false, writeback: ['status'], webhooks: true },
  oauth: {
    authorizeUrl({ state, redirectUri, readOnly }) {
      const clientId = env().STRIPE_CLIENT_ID;
      if (!clientId) throw new ConnectorError('permanent', 'STRIPE_CLIENT_ID is not set: Stripe Connect OAuth is not configured');
      const u = new URL('/oauth/authorize', env().STRIPE_CONNECT_BASE_URL);
      u.search = new URLSearchParams({ response_type: 'code', client_id: clientId, scope: readOnly ? 'read_only' : 'read_write', state, redirect_uri: redirectUri }).toString();
      return u.toString();
    },
    async exchangeCode({ code }) {
      return oauthToken({ grant_type: 'authorization_code', code });
    },
    async refresh(credentials) {
      if (!credentials.refreshToken) throw new ConnectorError('auth_expired', 'No refresh token: reconnect Stripe');
      return oauthToken({ grant_type: 'refresh_token', refresh_token: credentials.refreshToken });
    },
  },
  defaultMapping: () => [
    { target: 'name', source: 'name' },
    { target: 'domain', source: 'domain' },
    { target: 'created_at', source: 'created' },
  ],
  async listProperties() {
    return [
      { name: 'name', label: 'Name', type: 'string' },
      { name: 'email', label: 'Email', type: 'string' },
      { name: 'domain', label: 'Email domain', type: 'string', readOnly: true },
      { name: 'description', label: 'Description', type: 'string' },
      { name: 'created', label: 'Created', type: 'datetime', readOnly: true },
    ];
  },
  async pull(ctx, req) {
    if (req.kind === 'contact') return { records: [], nextCursor: null };
    const stripe = client(ctx);
    const page = await stripeCall(() => stripe.customers.list({ limit: Math.min(100, req.pageSize ?? 100), ...(req.cursor ? { starting_after: req.cursor } : {}) }));
    const live = livemodeOf(ctx);
    const subscribed = await subscribedCustomers(ctx, stripe, !req.cursor); // a walk's first page always reads afresh
    const records = page.data.map((c) => ({ ...toRecord(c, live), ...(subscribed.has(c.id) ? {} : OUT_OF_SCOPE) }));
    return { records, nextCursor: page.has_more && page.data.length ? page.data[page.data.length - 1]!.id : null };
  },
  async fetchOne(ctx, kind, externalId) {
    if (kind !== 'customer') return null;
    try {
      const stripe = client(ctx);
      const c = await stripeCall(() => stripe.customers.retrieve(externalId));
      const rec = toRecord(c, livemodeOf(ctx));
      return rec.deleted || (await isSubscribed(ctx, stripe, externalId)) ? rec : { ...rec, ...OUT_OF_SCOPE };
    } catch (e) {
      if (e instanceof ConnectorError && e.status === 404) return null;
      throw e;
    }
  },
  // Status only, to customer metadata; the engine calls this only when writeback is on.
  async writeback(ctx, externalId, changes) {
    if (changes.status === undefined) return { modifiedAt: null };
    await stripeCall(() => client(ctx).customers.update(externalId, { metadata: { pivotal_status: changes.status! } }));
    return { modifiedAt: null };
  },
  billing: {
    readBook: (ctx, scope, opts) => readStripeBook(client(ctx), scope, opts.signal, opts.onPage),
    async customerReader(ctx, scope) {
      const stripe = client(ctx);
      const products = await loadProductNames(stripe);
      return (id) => readStripeCustomer(stripe, id, scope, products);
    },
  },
};

async function oauthToken(params: Stripe.OAuthTokenParams): Promise<Credentials> {
  const secret = env().STRIPE_SECRET_KEY;
  if (!secret) throw new ConnectorError('permanent', 'STRIPE_SECRET_KEY is not set: Stripe Connect OAuth is not configured');
  // The SDK sends OAuth calls to its connect host; STRIPE_CONNECT_BASE_URL must reach them too.
  const stripe = createStripeClient(secret, { baseUrl: env().STRIPE_CONNECT_BASE_URL, maxNetworkRetries: 2 });
  try {
    const t = await stripe.oauth.token(params);
    return { accessToken: t.access_token!, refreshToken: t.refresh_token ?? null, accountId: t.stripe_user_id ?? null, livemode: t.livemode ?? null, scope: t.scope ?? null };
  } catch (e) {
    throw new ConnectorError('auth_expired', `Stripe Connect refused the authorization: ${e instanceof Error ? e.message : String(e)}`);
  }
}
