// The Stripe SDK, configured once per connection: STRIPE_API_BASE_URL (scheme, host and
// port) reaches every call, rate limits are retried by the SDK (it honours
// Stripe-Should-Retry), and errors are classified into ConnectorError codes. Mappers turn
// SDK objects into the provider-neutral shapes of core/billing/mrr.ts, so Stripe types
// stop at this folder.
import Stripe from 'stripe';
import { env } from '../../env.ts';
import { ConnectorError } from '../connector.ts';
import type { BillingDiscount, BillingInterval, BillingInvoice, BillingSubscription } from '../../billing/mrr.ts';

export type { Stripe };

/** Host/port/protocol of STRIPE_API_BASE_URL (or another base URL) in the SDK's terms. */
export function stripeHostOptions(baseUrl: string = env().STRIPE_API_BASE_URL): { host: string; port: number; protocol: 'http' | 'https' } {
  const u = new URL(baseUrl);
  const protocol = u.protocol === 'http:' ? 'http' : 'https';
  return { host: u.hostname, port: u.port ? Number(u.port) : protocol === 'http' ? 80 : 443, protocol };
}

export function createStripeClient(secretKey: string, opts: { baseUrl?: string; maxNetworkRetries?: number; timeoutMs?: number } = {}): Stripe {
  return new Stripe(secretKey, {
    ...stripeHostOptions(opts.baseUrl),
    maxNetworkRetries: opts.maxNetworkRetries ?? 4,
    // Every Stripe call has a deadline (PIVOTAL_PROVIDER_TIMEOUT_MS): a hung request fails and is retried.
    timeout: opts.timeoutMs ?? env().PIVOTAL_PROVIDER_TIMEOUT_MS,
    appInfo: { name: 'Pivotal' },
  });
}

/** Stripe errors → the engine's few codes (the message never carries the key). */
export function toConnectorError(e: unknown): unknown {
  if (!(e instanceof Stripe.errors.StripeError)) return e;
  const status = e.statusCode;
  const body = JSON.stringify({ type: e.type, code: e.code ?? null, message: e.message, request_id: e.requestId ?? null });
  if (e instanceof Stripe.errors.StripeAuthenticationError || e instanceof Stripe.errors.StripePermissionError) {
    return new ConnectorError('auth_expired', `Stripe refused the credentials: ${e.message}`, { status, providerResponse: body });
  }
  if (e instanceof Stripe.errors.StripeRateLimitError) {
    const retryAfter = Number((e.headers as Record<string, string> | undefined)?.['retry-after'] ?? 1);
    return new ConnectorError('rate_limited', 'Stripe rate limit reached', { status, retryAfterMs: Math.max(1, retryAfter) * 1000, providerResponse: body });
  }
  if (e instanceof Stripe.errors.StripeConnectionError || e instanceof Stripe.errors.StripeAPIError || (status !== undefined && status >= 500)) {
    return new ConnectorError('temporary', `Stripe is unavailable: ${e.message}`, { status, providerResponse: body });
  }
  return new ConnectorError('permanent', `Stripe rejected the request: ${e.message}`, { status, providerResponse: body });
}

export async function stripeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toConnectorError(e);
  }
}

/** Every page of a Stripe list, with starting_after pagination (max page size). */
export async function* listAll<T extends { id: string }>(
  page: (params: { limit: number; starting_after?: string }) => Promise<Stripe.ApiList<T>>,
  signal?: AbortSignal,
): AsyncGenerator<T[]> {
  let after: string | undefined;
  for (;;) {
    if (signal?.aborted) return;
    const res = await stripeCall(() => page({ limit: 100, ...(after ? { starting_after: after } : {}) }));
    if (res.data.length) yield res.data;
    if (!res.has_more || !res.data.length) return;
    after = res.data[res.data.length - 1]!.id;
  }
}

/** product id → name for the whole account (products are few; cached for one run). */
export async function loadProductNames(stripe: Stripe, signal?: AbortSignal): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for await (const page of listAll((p) => stripe.products.list(p), signal)) for (const p of page) names.set(p.id, p.name);
  return names;
}

/** The expansions every subscription read uses: coupons of discounts, and the latest invoice. */
export const SUBSCRIPTION_EXPAND = ['data.discounts.source.coupon', 'data.latest_invoice'];

const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : v && typeof v === 'object' && 'id' in v ? String((v as { id: unknown }).id) : null);

function mapDiscount(d: unknown): BillingDiscount | null {
  if (!d || typeof d !== 'object') return null;
  // API versions before 2025-09-30 put the coupon on the discount itself; later ones under `source`.
  const disc = d as { end?: number | null; source?: { coupon?: unknown }; coupon?: unknown };
  const coupon = (disc.source?.coupon ?? disc.coupon) as Stripe.Coupon | string | undefined;
  if (!coupon || typeof coupon === 'string') return null;
  return { percentOff: coupon.percent_off ?? null, amountOff: coupon.amount_off ?? null, currency: coupon.currency ?? null, end: disc.end ?? null };
}

export function mapSubscription(sub: Stripe.Subscription, productNames: Map<string, string>): BillingSubscription {
  return {
    id: sub.id,
    customerId: idOf(sub.customer)!,
    status: sub.status,
    startDate: sub.start_date,
    items: sub.items.data.map((it) => {
      const productId = idOf(it.price.product);
      const product = typeof it.price.product === 'object' && it.price.product && 'name' in it.price.product ? it.price.product.name : null;
      return {
        quantity: it.quantity ?? 1,
        price: {
          id: it.price.id,
          unitAmount: it.price.unit_amount ?? Number(it.price.unit_amount_decimal ?? 0),
          currency: it.price.currency,
          interval: (it.price.recurring?.interval ?? 'month') as BillingInterval,
          intervalCount: it.price.recurring?.interval_count ?? 1,
          lookupKey: it.price.lookup_key ?? null,
          productId,
          productName: product ?? (productId ? (productNames.get(productId) ?? null) : null),
        },
      };
    }),
    discounts: (sub.discounts ?? []).map(mapDiscount).filter((d): d is BillingDiscount => d !== null),
  };
}

export function mapInvoice(inv: Stripe.Invoice): BillingInvoice {
  return {
    id: inv.id!,
    customerId: idOf(inv.customer)!,
    status: inv.status ?? 'draft',
    created: inv.created,
    dueDate: inv.due_date ?? null,
    attemptCount: inv.attempt_count ?? 0,
    amountRemaining: inv.amount_remaining ?? 0,
  };
}

/** The subscription an invoice bills (API versions from 2025-03-31 name it under `parent`), null for a one-off invoice. */
export function invoiceSubscriptionId(inv: Stripe.Invoice): string | null {
  const parent = (inv as { parent?: { subscription_details?: { subscription?: unknown } | null } | null }).parent;
  return idOf(parent?.subscription_details?.subscription) ?? idOf((inv as { subscription?: unknown }).subscription);
}

/** Every open and uncollectible invoice of the account, or of one customer. */
export async function unpaidInvoices(stripe: Stripe, filter: { customer?: string } = {}, signal?: AbortSignal): Promise<Stripe.Invoice[]> {
  const out: Stripe.Invoice[] = [];
  for (const status of ['open', 'uncollectible'] as const) {
    for await (const page of listAll((p) => stripe.invoices.list({ ...p, ...filter, status }), signal)) out.push(...page);
  }
  return out;
}

/**
 * The latest invoice of each subscription, deduplicated. They come expanded
 * (SUBSCRIPTION_EXPAND); one that arrives as a bare id (an API or proxy that ignored the
 * expansion) is fetched, so payment status never silently reads as "none".
 */
export async function latestInvoices(stripe: Stripe, subs: Stripe.Subscription[]): Promise<BillingInvoice[]> {
  const seen = new Map<string, BillingInvoice>();
  for (const s of subs) {
    const inv = s.latest_invoice;
    if (!inv) continue;
    if (typeof inv === 'object') seen.set(inv.id!, mapInvoice(inv));
    else if (!seen.has(inv)) seen.set(inv, mapInvoice(await stripeCall(() => stripe.invoices.retrieve(inv))));
  }
  return [...seen.values()];
}
