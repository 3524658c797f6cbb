// Stripe's billing reads, for the engine's billing-signal runs (core/sync/billing-run.ts):
// the whole account's customers with their in-scope subscriptions and latest invoices
// (products fetched once per read, since list expansion stops at four levels), or one
// Stripe customer's (webhooks). Data only: matching and writing are the engine's.
import type { Types } from 'mongoose';
import { decryptJson } from '../../crypto.ts';
import { AppError } from '../../errors.ts';
import { domainFromEmail } from '../../domain.ts';
import type { Credentials } from '../connector.ts';
import { hasItemInScope, type BillingScope } from '../../billing/mrr.ts';
import type { BillingSourceCustomer } from '../../billing/apply.ts';
import { createStripeClient, invoiceSubscriptionId, latestInvoices, listAll, loadProductNames, mapInvoice, mapSubscription, stripeCall, SUBSCRIPTION_EXPAND, unpaidInvoices, type Stripe } from './client.ts';

/** The connection fields the runner needs (a mongoose document or a lean object). */
export interface BillingConnection {
  _id: Types.ObjectId;
  workspace_id: Types.ObjectId;
  mode?: string | null;
  /** null once disconnected (erased) */
  credentials?: string | null;
  settings?: Record<string, any> | null;
  first_full_sync_at?: Date | null;
  role?: string | null;
}

export function stripeForConnection(conn: BillingConnection, opts?: Parameters<typeof createStripeClient>[1]): Stripe {
  if (!conn.credentials) throw new AppError('conflict', 'This Stripe connection is disconnected (its key was erased): connect Stripe again');
  const creds = decryptJson<Credentials>(conn.credentials);
  return createStripeClient(creds.accessToken, opts);
}

export function scopeOf(settings: Record<string, any> | null | undefined): BillingScope {
  const s = settings?.scope ?? settings?.subscription_scope ?? {};
  return { products: Array.isArray(s.products) ? s.products.map(String) : [], lookupKeys: Array.isArray(s.lookup_keys) ? s.lookup_keys.map(String) : [] };
}

/**
 * Payment status is the customer's most recent invoice, so besides each subscription's
 * latest invoice the open and uncollectible ones count: a one-off invoice whose payment
 * failed is payment news too. A narrowed scope counts only its own subscriptions' invoices.
 */
function addUnpaidInvoice(c: BillingSourceCustomer, inv: Stripe.Invoice, scope: BillingScope): void {
  const sub = invoiceSubscriptionId(inv);
  const scoped = !!(scope.products?.length || scope.lookupKeys?.length);
  const counts = sub ? c.subscriptions.some((s) => s.id === sub) : !scoped;
  if (counts && !c.invoices.some((i) => i.id === inv.id)) c.invoices.push(mapInvoice(inv));
}

/** Reads the whole account: Stripe customers with their in-scope subscriptions and latest invoices. */
export async function readStripeBook(stripe: Stripe, scope: BillingScope, signal?: AbortSignal, onPage?: (done: number) => Promise<void>): Promise<{ billed: BillingSourceCustomer[]; unsubscribed: BillingSourceCustomer[] }> {
  const products = await loadProductNames(stripe, signal);
  const customers = new Map<string, BillingSourceCustomer>();
  let done = 0;
  for await (const page of listAll((p) => stripe.customers.list(p), signal)) {
    for (const c of page) {
      customers.set(c.id, { stripeCustomerId: c.id, email: c.email ?? null, name: c.name ?? null, domain: domainFromEmail(c.email), subscriptions: [], invoices: [] });
    }
    done += page.length;
    await onPage?.(done);
  }
  const raw = new Map<string, Stripe.Subscription[]>();
  for await (const page of listAll((p) => stripe.subscriptions.list({ ...p, status: 'all', expand: SUBSCRIPTION_EXPAND }), signal)) {
    for (const s of page) {
      const sub = mapSubscription(s, products);
      if (!hasItemInScope(sub, scope)) continue;
      const owner = customers.get(sub.customerId);
      if (!owner) continue; // deleted customer
      owner.subscriptions.push(sub);
      raw.set(sub.customerId, [...(raw.get(sub.customerId) ?? []), s]);
    }
    done += page.length;
    await onPage?.(done);
  }
  for (const [id, subs] of raw) customers.get(id)!.invoices = await latestInvoices(stripe, subs);
  for (const inv of await unpaidInvoices(stripe, {}, signal)) {
    const owner = customers.get(String(typeof inv.customer === 'string' ? inv.customer : inv.customer?.id));
    if (owner) addUnpaidInvoice(owner, inv, scope);
  }
  // Only Stripe customers with a subscription in scope carry billing.
  const all = [...customers.values()];
  return { billed: all.filter((c) => c.subscriptions.length > 0), unsubscribed: all.filter((c) => c.subscriptions.length === 0) };
}

/** One Stripe customer with its in-scope subscriptions and their latest invoices; null when deleted. */
export async function readStripeCustomer(stripe: Stripe, id: string, scope: BillingScope, products: Map<string, string>): Promise<BillingSourceCustomer | null> {
  const c = await stripeCall(() => stripe.customers.retrieve(id));
  if ((c as { deleted?: boolean }).deleted) return null;
  const cust = c as Stripe.Customer;
  const raw: Stripe.Subscription[] = [];
  for await (const page of listAll((p) => stripe.subscriptions.list({ ...p, customer: id, status: 'all', expand: SUBSCRIPTION_EXPAND }))) raw.push(...page);
  // Only in-scope subscriptions and their invoices, exactly as the walk reads them, so a
  // webhook and the next reconcile agree on the payment status.
  const kept = raw.map((s) => [s, mapSubscription(s, products)] as const).filter(([, sub]) => hasItemInScope(sub, scope));
  const out: BillingSourceCustomer = {
    stripeCustomerId: id, email: cust.email ?? null, name: cust.name ?? null, domain: domainFromEmail(cust.email),
    subscriptions: kept.map(([, sub]) => sub),
    invoices: await latestInvoices(stripe, kept.map(([s]) => s)),
  };
  for (const inv of await unpaidInvoices(stripe, { customer: id })) addUnpaidInvoice(out, inv, scope);
  return out;
}

