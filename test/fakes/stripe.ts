// Stateful fake of the Stripe v1 API (plus Connect OAuth) for tests and benchmarks.
// It is driven through the real `stripe` SDK pointed at http://127.0.0.1:<port>, so it
// validates parameters, keys, accounts and pagination the way Stripe does and answers with
// Stripe's error envelope; anything it does not know is rejected, never silently accepted.
//
// Shapes follow the SDK's pinned API version (2026-10-28): `current_period_*` live on
// subscription items, subscriptions carry `discounts` (ids, expandable) and invoices point
// at their subscription through `parent.subscription_details.subscription`. Requests that
// send an older `Stripe-Version` (before 2025-03-31) also get the legacy top-level fields
// (`subscription.current_period_*`, `subscription.discount`, `invoice.subscription`).
import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** The API version the installed SDK pins and sends; also the accounts' default version. */
export const FAKE_STRIPE_API_VERSION = '2026-10-28.endive';
// The "basil" release moved periods onto items and the subscription link into invoice.parent.
const LEGACY_SHAPES_BEFORE = '2025-03-31';
// Stripe only lists events from the last 30 days.
const EVENT_RETENTION_SEC = 30 * 24 * 3600;
const MAX_EXPAND_DEPTH = 4;

type Obj = Record<string, any>;
export type FakeMode = 'live' | 'test';
export type SubscriptionStatus =
  | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid' | 'incomplete' | 'incomplete_expired' | 'paused';
export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';
export type Interval = 'day' | 'week' | 'month' | 'year';

const SUB_STATUSES: SubscriptionStatus[] = [
  'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused',
];
const INVOICE_STATUSES: InvoiceStatus[] = ['draft', 'open', 'paid', 'uncollectible', 'void'];
const INTERVALS: Interval[] = ['day', 'week', 'month', 'year'];

export interface FakeEvent<T extends Obj = Obj> {
  id: string;
  object: 'event';
  account?: string;
  api_version: string;
  created: number;
  data: { object: T; previous_attributes?: Obj };
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: string;
  status: number;
  body: Obj;
  requestId: string;
  apiVersion: string | null;
  idempotencyKey: string | null;
  stripeAccount: string | null;
}

/** Every non-GET request, whatever its outcome, so tests can prove what was (not) written. */
export interface WriteLogEntry {
  method: string;
  path: string;
  /** First path segment after /v1 (`customers`, `subscriptions`, `invoices`, `prices`, `payment_intents`, `refunds`…) or `oauth`. */
  resource: string;
  status: number;
  accepted: boolean;
  params: Obj;
  account: string | null;
  livemode: boolean | null;
  idempotencyKey: string | null;
}

export interface ApiKeyOptions {
  mode: FakeMode;
  /** Account the key belongs to; defaults to the platform account. */
  account?: string;
  /** Restricted keys are read-only unless the resource is listed in `writable`. */
  restricted?: boolean;
  writable?: string[];
  /** Restricted keys read every resource unless this lists the only ones they may read. */
  readable?: string[];
}

export interface FailOptions {
  /** Value of `Stripe-Should-Retry`; default true for 429/409, unset otherwise. */
  shouldRetry?: boolean;
  /** Only requests whose path matches are failed (others pass through untouched). */
  path?: string | RegExp;
  code?: string;
  message?: string;
}

export interface FakeStripeOptions {
  /** Per API key, sliding one-second window; unset means unlimited. */
  rateLimitPerSec?: number;
  /** Mode of the default key and of the top-level mutators (default test). */
  livemode?: boolean;
}

interface KeyRecord {
  key: string;
  mode: FakeMode;
  account: string;
  restricted: boolean;
  writable: Set<string>;
  readable: Set<string> | null;
  revoked: boolean;
  hits: number[];
}

interface AccountRecord {
  id: string;
  name: string;
  email: string;
  country: string;
  default_currency: string;
  created: number;
  /** Platforms this account is connected to (via OAuth or `connectAccount`). */
  platforms: Set<string>;
}

interface Fault {
  status: number;
  opts: FailOptions;
}

// ---------------------------------------------------------------------------------------
// Errors

class StripeApiError extends Error {
  status: number;
  type: string;
  code: string | undefined;
  param: string | undefined;
  headers: Record<string, string>;
  constructor(status: number, type: string, message: string, code?: string, param?: string) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.headers = {};
  }
}

function invalid(message: string, param?: string, code?: string, status = 400): StripeApiError {
  return new StripeApiError(status, 'invalid_request_error', message, code, param);
}
function unknownParam(name: string): StripeApiError {
  return invalid(`Received unknown parameter: ${name}`, name, 'parameter_unknown');
}
function missingParam(name: string): StripeApiError {
  return invalid(`Missing required param: ${name}.`, name, 'parameter_missing');
}

class OAuthError extends Error {
  status: number;
  error: string;
  constructor(status: number, error: string, description: string) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

function maskKey(key: string): string {
  const m = /^([a-z]+_(?:test|live)_)/.exec(key);
  return `${m ? m[1] : ''}****${key.slice(-4)}`;
}

// ---------------------------------------------------------------------------------------
// Ids, clock helpers

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function rid(prefix: string, len = 24): string {
  const bytes = randomBytes(len);
  let s = prefix;
  for (let i = 0; i < len; i++) s += B62[bytes[i]! % 62];
  return s;
}

function addInterval(ts: number, interval: Interval, count: number): number {
  if (interval === 'day') return ts + 86400 * count;
  if (interval === 'week') return ts + 7 * 86400 * count;
  const d = new Date(ts * 1000);
  if (interval === 'month') d.setUTCMonth(d.getUTCMonth() + count);
  else d.setUTCFullYear(d.getUTCFullYear() + count);
  return Math.floor(d.getTime() / 1000);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

// Deterministic PRNG (mulberry32) so seeded books are reproducible across runs.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------
// Ordered collections: an array sorted by (created, seq) plus an id map. Lists walk the
// array from a binary-searched cursor, so a page costs O(log n + scanned), never O(n) per item.

interface Entry {
  id: string;
  created: number;
  seq: number;
  obj: Obj;
}

let globalSeq = 0;

function cmpKey(a: Entry, created: number, seq: number): number {
  return a.created !== created ? a.created - created : a.seq - seq;
}

/** First index whose key is >= (created, seq). */
function lowerBound(arr: Entry[], created: number, seq: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmpKey(arr[mid]!, created, seq) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedInsert(arr: Entry[], e: Entry): void {
  const last = arr[arr.length - 1];
  if (!last || cmpKey(last, e.created, e.seq) < 0) arr.push(e);
  else arr.splice(lowerBound(arr, e.created, e.seq), 0, e);
}

class Collection {
  readonly sorted: Entry[] = [];
  readonly byId = new Map<string, Entry>();
  insert(obj: Obj): Entry {
    const e: Entry = { id: obj.id, created: obj.created, seq: ++globalSeq, obj };
    if (this.byId.has(e.id)) throw new Error(`duplicate id ${e.id}`);
    this.byId.set(e.id, e);
    sortedInsert(this.sorted, e);
    return e;
  }
  get(id: string): Obj | undefined {
    return this.byId.get(id)?.obj;
  }
}

function pushIndex(map: Map<string, Entry[]>, key: string | null | undefined, e: Entry): void {
  if (!key) return;
  let arr = map.get(key);
  if (!arr) map.set(key, (arr = []));
  sortedInsert(arr, e);
}

interface PageRequest {
  limit: number;
  startingAfter?: Entry;
  endingBefore?: Entry;
}

function paginate(cands: Entry[], pred: (o: Obj) => boolean, page: PageRequest): { items: Obj[]; hasMore: boolean } {
  const out: Obj[] = [];
  if (page.endingBefore) {
    // Objects newer than the cursor; the page is the `limit` nearest to it, shown newest first.
    const c = page.endingBefore;
    let i = lowerBound(cands, c.created, c.seq);
    if (cands[i] === c) i++;
    for (; i < cands.length && out.length <= page.limit; i++) if (pred(cands[i]!.obj)) out.push(cands[i]!.obj);
    const hasMore = out.length > page.limit;
    return { items: out.slice(0, page.limit).reverse(), hasMore };
  }
  let i = cands.length - 1;
  if (page.startingAfter) {
    const c = page.startingAfter;
    i = lowerBound(cands, c.created, c.seq) - 1;
  }
  for (; i >= 0 && out.length <= page.limit; i--) if (pred(cands[i]!.obj)) out.push(cands[i]!.obj);
  const hasMore = out.length > page.limit;
  return { items: out.slice(0, page.limit), hasMore };
}

// ---------------------------------------------------------------------------------------
// Form-encoded params (what the SDK sends: `a[b]=1`, `items[0][price]=x`, `expand[0]=y`;
// curl users send `expand[]=y`). Arrays stay as index-keyed objects until a validator asks.

function parseParams(encoded: string): Obj {
  const root: Obj = {};
  for (const [key, value] of new URLSearchParams(encoded)) {
    const m = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(key);
    if (!m) {
      root[key] = value;
      continue;
    }
    const path = [m[1]!, ...[...m[2]!.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]!)];
    let cur = root;
    for (let i = 0; i < path.length; i++) {
      let seg = path[i]!;
      if (seg === '') seg = String(Object.keys(cur).length);
      if (i === path.length - 1) {
        cur[seg] = value;
      } else {
        if (typeof cur[seg] !== 'object' || cur[seg] === null) cur[seg] = {};
        cur = cur[seg];
      }
    }
  }
  return root;
}

function known(params: Obj, allowed: readonly string[], prefix = ''): void {
  for (const k of Object.keys(params)) {
    if (!allowed.includes(k)) throw unknownParam(prefix ? `${prefix}[${k}]` : k);
  }
}

function asArray(v: unknown, name: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.every((k) => /^\d+$/.test(k))) return keys.sort((a, b) => +a - +b).map((k) => (v as Obj)[k]);
  }
  if (v === '') return [];
  throw invalid(`Invalid array`, name);
}

function asHash(v: unknown, name: string): Obj {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
  throw invalid(`Invalid hash`, name);
}

function optStr(params: Obj, name: string, label = name): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`Invalid string: {${Object.keys(v).join(', ')}}`, label);
  return v;
}

function optInt(params: Obj, name: string, label = name, min?: number, max?: number): number | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw invalid(`Invalid integer: ${String(v)}`, label, 'parameter_invalid_integer');
  const n = Number(v);
  if (min !== undefined && n < min) throw invalid(`This value must be greater than or equal to ${min}.`, label);
  if (max !== undefined && n > max) throw invalid(`This value must be less than or equal to ${max}.`, label);
  return n;
}

function optBool(params: Obj, name: string, label = name): boolean | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid(`Invalid boolean: ${String(v)}`, label);
}

function optEnum<T extends string>(params: Obj, name: string, values: readonly T[], label = name): T | undefined {
  const v = optStr(params, name, label);
  if (v === undefined) return undefined;
  if (!values.includes(v as T)) throw invalid(`Invalid ${label}: must be one of ${values.join(', ')}`, label);
  return v as T;
}

interface Range {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

function optRange(params: Obj, name: string): Range | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    const n = optInt(params, name);
    return { gte: n, lte: n };
  }
  const h = asHash(v, name);
  known(h, ['gt', 'gte', 'lt', 'lte'], name);
  const r: Range = {};
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) r[k] = optInt(h, k, `${name}[${k}]`);
  return r;
}

function inRange(n: number | null | undefined, r: Range | undefined): boolean {
  if (!r) return true;
  if (n === null || n === undefined) return false;
  return !(
    (r.gt !== undefined && !(n > r.gt)) ||
    (r.gte !== undefined && !(n >= r.gte)) ||
    (r.lt !== undefined && !(n < r.lt)) ||
    (r.lte !== undefined && !(n <= r.lte))
  );
}

/** Applies Stripe's metadata update rules: '' unsets a key, `metadata=''` clears all. */
function applyMetadata(current: Obj, v: unknown): Obj {
  if (v === undefined) return current;
  if (v === '') return {};
  const h = asHash(v, 'metadata');
  const next = { ...current };
  for (const [k, val] of Object.entries(h)) {
    if (typeof val !== 'string') throw invalid(`Invalid string: {...}`, `metadata[${k}]`);
    if (k.length > 40) throw invalid(`Metadata keys can have a maximum length of 40 characters.`, `metadata[${k}]`);
    if (val.length > 500) throw invalid(`Metadata values can have a maximum length of 500 characters.`, `metadata[${k}]`);
    if (val === '') delete next[k];
    else next[k] = val;
  }
  if (Object.keys(next).length > 50) throw invalid(`You can have at most 50 keys in metadata.`, 'metadata');
  return next;
}

function checkEmail(email: string | undefined): void {
  if (email !== undefined && email !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw invalid(`Invalid email address: ${email}`, 'email', 'email_invalid');
  }
}

/** Field-level diff used for `data.previous_attributes`: nested hashes diff per key (added keys → null). */
function previousAttributes(before: Obj, after: Obj): Obj | undefined {
  const out: Obj = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[k];
    const b = after[k];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const plain = (x: unknown) => x && typeof x === 'object' && !Array.isArray(x) && !('object' in (x as Obj));
    if (k === 'metadata' && plain(a) && plain(b)) {
      const d: Obj = {};
      for (const mk of new Set([...Object.keys(a), ...Object.keys(b)])) if (a[mk] !== b[mk]) d[mk] = a[mk] ?? null;
      out[k] = d;
    } else {
      out[k] = a === undefined ? null : clone(a);
    }
  }
  return Object.keys(out).length ? out : undefined;
}

// ---------------------------------------------------------------------------------------
// Expansion

type Kind =
  | 'customer' | 'product' | 'price' | 'coupon' | 'discount' | 'subscription' | 'invoice' | 'event' | 'payment_intent';

// Which fields of each object type are expandable (relative dotted path → target kind).
const EXPANDABLE: Record<string, Record<string, Kind>> = {
  subscription: { customer: 'customer', latest_invoice: 'invoice', discounts: 'discount' },
  subscription_item: { discounts: 'discount' },
  price: { product: 'product' },
  invoice: {
    customer: 'customer',
    subscription: 'subscription',
    'parent.subscription_details.subscription': 'subscription',
    discounts: 'discount',
  },
  line_item: { discounts: 'discount' },
  discount: { customer: 'customer', 'source.coupon': 'coupon', subscription: 'subscription' },
  payment_intent: { customer: 'customer', latest_invoice: 'invoice' },
};

interface RenderCtx {
  legacy: boolean;
}

// ---------------------------------------------------------------------------------------
// A book: all objects of one account in one mode (Stripe keeps test and live data apart).

export interface CreateCustomerInput {
  id?: string;
  email?: string | null;
  name?: string | null;
  description?: string | null;
  phone?: string | null;
  metadata?: Record<string, string>;
  created?: number;
}
export interface CreateProductInput {
  id?: string;
  name: string;
  active?: boolean;
  description?: string | null;
  metadata?: Record<string, string>;
  created?: number;
}
export interface CreatePriceInput {
  id?: string;
  product: string;
  unit_amount: number;
  currency?: string;
  recurring?: { interval: Interval; interval_count?: number } | null;
  lookup_key?: string | null;
  nickname?: string | null;
  active?: boolean;
  metadata?: Record<string, string>;
  created?: number;
}
export interface CreateCouponInput {
  id?: string;
  percent_off?: number;
  amount_off?: number;
  currency?: string;
  duration?: 'once' | 'repeating' | 'forever';
  duration_in_months?: number;
  name?: string;
  created?: number;
}
export interface CreateSubscriptionInput {
  id?: string;
  customer: string;
  items: { price: string; quantity?: number }[];
  status?: SubscriptionStatus;
  created?: number;
  start_date?: number;
  current_period_start?: number;
  current_period_end?: number;
  trial_start?: number | null;
  trial_end?: number | null;
  coupons?: string[];
  metadata?: Record<string, string>;
  collection_method?: 'charge_automatically' | 'send_invoice';
  days_until_due?: number | null;
  cancel_at_period_end?: boolean;
  canceled_at?: number | null;
}
export interface UpdateSubscriptionInput {
  status?: SubscriptionStatus;
  metadata?: Record<string, string>;
  cancel_at_period_end?: boolean;
  current_period_start?: number;
  current_period_end?: number;
  trial_end?: number | null;
  coupons?: string[];
  items?: { price: string; quantity?: number }[];
  collection_method?: 'charge_automatically' | 'send_invoice';
}
export interface CreateInvoiceInput {
  id?: string;
  customer: string;
  subscription?: string | null;
  status?: InvoiceStatus;
  amount_due?: number;
  currency?: string;
  created?: number;
  due_date?: number | null;
  period_start?: number;
  period_end?: number;
  collection_method?: 'charge_automatically' | 'send_invoice';
  billing_reason?: string;
  metadata?: Record<string, string>;
  attempt_count?: number;
  next_payment_attempt?: number | null;
}

export interface SeedOptions {
  customers?: number;
  /** Total subscriptions; every customer gets one first, the rest go to random customers. */
  subscriptions?: number;
  products?: number;
  /** Invoices per subscription (monthly, newest is open/paid according to status). */
  invoicesPerSubscription?: number;
  /** Relative weights of subscription statuses. */
  statusWeights?: Partial<Record<SubscriptionStatus, number>>;
  /** Fraction of subscriptions carrying a coupon discount. */
  discountRate?: number;
  /** Created time of the first customer (default: two years before now). */
  startAt?: number;
  seed?: number;
}

export interface SeedResult {
  customerIds: string[];
  subscriptionIds: string[];
  productIds: string[];
  priceIds: string[];
  couponIds: string[];
  invoiceIds: string[];
}

export class FakeBook {
  readonly account: string;
  readonly livemode: boolean;
  readonly customers = new Collection();
  readonly products = new Collection();
  readonly prices = new Collection();
  readonly coupons = new Collection();
  readonly discounts = new Collection();
  readonly subscriptions = new Collection();
  readonly invoices = new Collection();
  readonly events = new Collection();
  readonly paymentIntents = new Collection();
  private readonly subsByCustomer = new Map<string, Entry[]>();
  private readonly subsByPrice = new Map<string, Entry[]>();
  private readonly invoicesByCustomer = new Map<string, Entry[]>();
  private readonly invoicesBySub = new Map<string, Entry[]>();
  private readonly pricesByProduct = new Map<string, Entry[]>();
  private readonly priceByLookupKey = new Map<string, string>();
  private readonly clock: () => number;
  private invoiceCounter = 0;

  constructor(account: string, livemode: boolean, clock: () => number) {
    this.account = account;
    this.livemode = livemode;
    this.clock = clock;
  }

  now(): number {
    return this.clock();
  }

  collection(kind: Kind): Collection {
    switch (kind) {
      case 'customer': return this.customers;
      case 'product': return this.products;
      case 'price': return this.prices;
      case 'coupon': return this.coupons;
      case 'discount': return this.discounts;
      case 'subscription': return this.subscriptions;
      case 'invoice': return this.invoices;
      case 'event': return this.events;
      case 'payment_intent': return this.paymentIntents;
    }
  }

  /** Raw stored object (ids, not embedded objects); mutate only through the mutators. */
  get(kind: Kind, id: string): Obj | undefined {
    return this.collection(kind).get(id);
  }

  subscriptionsOf(customer: string): Entry[] {
    return this.subsByCustomer.get(customer) ?? [];
  }
  subscriptionsWithPrice(price: string): Entry[] {
    return this.subsByPrice.get(price) ?? [];
  }
  invoicesOf(customer: string): Entry[] {
    return this.invoicesByCustomer.get(customer) ?? [];
  }
  invoicesOfSubscription(sub: string): Entry[] {
    return this.invoicesBySub.get(sub) ?? [];
  }
  pricesOf(product: string): Entry[] {
    return this.pricesByProduct.get(product) ?? [];
  }
  priceIdForLookupKey(key: string): string | undefined {
    return this.priceByLookupKey.get(key);
  }
  /** Moves a lookup key onto `price` (or clears it), keeping the unique-key index in step. */
  setPriceLookupKey(price: Obj, key: string | null): void {
    if (price.lookup_key) this.priceByLookupKey.delete(price.lookup_key);
    price.lookup_key = key;
    if (key) this.priceByLookupKey.set(key, price.id);
  }

  // ---- rendering -----------------------------------------------------------------------

  /** The object as the API returns it (no expansions), detached from the store. */
  render(obj: Obj, ctx: RenderCtx = { legacy: false }): Obj {
    if (obj.object === 'customer' && obj.deleted) return { id: obj.id, object: 'customer', deleted: true };
    const out = clone(obj);
    if (obj.object === 'subscription') {
      for (const item of out.items.data) {
        const price = this.prices.get(item.price);
        item.price = price ? clone(price) : item.price;
        if (ctx.legacy) item.plan = price ? this.legacyPlan(price) : null;
      }
      if (ctx.legacy) {
        const first = out.items.data[0];
        out.current_period_start = first?.current_period_start ?? null;
        out.current_period_end = first?.current_period_end ?? null;
        const d = out.discounts[0] ? this.discounts.get(out.discounts[0]) : undefined;
        out.discount = d ? this.render(d, ctx) : null;
      }
    } else if (obj.object === 'invoice') {
      if (ctx.legacy) out.subscription = out.parent?.subscription_details?.subscription ?? null;
    } else if (obj.object === 'discount') {
      if (ctx.legacy) {
        const c = this.coupons.get(out.source.coupon);
        out.coupon = c ? clone(c) : null;
      }
    }
    return out;
  }

  private legacyPlan(price: Obj): Obj {
    return {
      id: price.id, object: 'plan', active: price.active, amount: price.unit_amount,
      amount_decimal: price.unit_amount_decimal, billing_scheme: 'per_unit', created: price.created,
      currency: price.currency, interval: price.recurring?.interval, interval_count: price.recurring?.interval_count,
      livemode: price.livemode, metadata: price.metadata, nickname: price.nickname, product: price.product,
      usage_type: 'licensed',
    };
  }

  /** Applies `expand[]` paths to an already rendered object or list, Stripe-style. */
  expand(root: Obj, paths: string[], ctx: RenderCtx): Obj {
    for (const path of paths) {
      const segs = path.split('.');
      if (segs.length > MAX_EXPAND_DEPTH) {
        throw invalid(`You cannot expand more than ${MAX_EXPAND_DEPTH} levels of a property. Property: ${path}`, 'expand');
      }
      this.walk(root, segs, root.object, '', ctx);
    }
    return root;
  }

  private resolve(kind: Kind, v: unknown, ctx: RenderCtx): unknown {
    if (typeof v !== 'string') return v;
    const found = this.collection(kind).get(v);
    return found ? this.render(found, ctx) : v;
  }

  private walk(node: Obj, segs: string[], ownerType: string, rel: string, ctx: RenderCtx): void {
    const [seg, ...rest] = segs as [string, ...string[]];
    if (node.object === 'list' && rel === '' && seg === 'data' && rest.length > 0) {
      for (const item of node.data) this.walk(item, rest, item.object, '', ctx);
      return;
    }
    const field = rel ? `${rel}.${seg}` : seg;
    const kind = EXPANDABLE[ownerType]?.[field];
    if (!(seg in node) || (!kind && rest.length === 0)) throw invalid(`This property cannot be expanded (${seg}).`, 'expand');
    let v = node[seg];
    if (kind) {
      v = Array.isArray(v) ? v.map((x) => this.resolve(kind, x, ctx)) : this.resolve(kind, v, ctx);
      node[seg] = v;
    }
    if (rest.length === 0 || v === null) return;
    const into = (x: unknown) => {
      if (typeof x === 'string') throw invalid(`This property cannot be expanded (${rest[0]}).`, 'expand');
      if (!x || typeof x !== 'object') return;
      const o = x as Obj;
      if (typeof o.object === 'string') this.walk(o, rest, o.object, '', ctx);
      else this.walk(o, rest, ownerType, field, ctx);
    };
    if (Array.isArray(v)) v.forEach(into);
    else into(v);
  }

  // ---- events ----------------------------------------------------------------------------

  emit<T extends Obj>(type: string, obj: Obj, before?: Obj, request?: { id: string; idempotency_key: string | null }): FakeEvent<T> {
    const snapshot = this.render(obj);
    const data: FakeEvent['data'] = { object: snapshot };
    if (before) {
      const prev = previousAttributes(this.render(before), snapshot);
      if (prev) data.previous_attributes = prev;
    }
    const ev: FakeEvent = {
      id: rid('evt_'),
      object: 'event',
      api_version: FAKE_STRIPE_API_VERSION,
      created: this.now(),
      data,
      livemode: this.livemode,
      pending_webhooks: 0,
      request: request ?? { id: null, idempotency_key: null },
      type,
    };
    this.events.insert(ev);
    return clone(ev) as FakeEvent<T>;
  }

  // ---- internal inserts (shared by API handlers, mutators and the seeder) ------------------

  private requireCustomer(id: string): Obj {
    const c = this.customers.get(id);
    if (!c || c.deleted) throw new Error(`fake stripe: no such customer ${id}`);
    return c;
  }

  insertCustomer(input: CreateCustomerInput): Obj {
    const created = input.created ?? this.now();
    const id = input.id ?? rid('cus_', 14);
    const obj: Obj = {
      id, object: 'customer', address: null, balance: 0, business_name: null, created, currency: null,
      customer_account: null, default_source: null, delinquent: false, description: input.description ?? null,
      discount: null, email: input.email ?? null, individual_name: null,
      invoice_prefix: id.slice(-8).toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: this.livemode, metadata: { ...(input.metadata ?? {}) }, name: input.name ?? null,
      next_invoice_sequence: 1, phone: input.phone ?? null, preferred_locales: [], shipping: null,
      tax_exempt: 'none', test_clock: null,
    };
    this.customers.insert(obj);
    return obj;
  }

  insertProduct(input: CreateProductInput): Obj {
    const created = input.created ?? this.now();
    const obj: Obj = {
      id: input.id ?? rid('prod_', 14), object: 'product', active: input.active ?? true, attributes: [], created,
      default_price: null, description: input.description ?? null, images: [], livemode: this.livemode,
      marketing_features: [], metadata: { ...(input.metadata ?? {}) }, name: input.name, package_dimensions: null,
      shippable: null, statement_descriptor: null, tax_code: null, type: 'service', unit_label: null,
      updated: created, url: null,
    };
    this.products.insert(obj);
    return obj;
  }

  insertPrice(input: CreatePriceInput): Obj {
    if (!this.products.get(input.product)) throw new Error(`fake stripe: no such product ${input.product}`);
    if (input.lookup_key && this.priceByLookupKey.has(input.lookup_key)) {
      throw invalid(
        `A price (\`${this.priceByLookupKey.get(input.lookup_key)}\`) already uses that lookup key.`,
        'lookup_key',
      );
    }
    const obj: Obj = {
      id: input.id ?? rid('price_'), object: 'price', active: input.active ?? true, billing_scheme: 'per_unit',
      created: input.created ?? this.now(), currency: (input.currency ?? 'usd').toLowerCase(), custom_unit_amount: null,
      livemode: this.livemode, lookup_key: input.lookup_key ?? null, metadata: { ...(input.metadata ?? {}) },
      nickname: input.nickname ?? null, product: input.product,
      recurring: input.recurring
        ? { interval: input.recurring.interval, interval_count: input.recurring.interval_count ?? 1, meter: null, trial_period_days: null, usage_type: 'licensed' }
        : null,
      tax_behavior: 'unspecified', tiers_mode: null, transform_quantity: null,
      type: input.recurring ? 'recurring' : 'one_time', unit_amount: input.unit_amount,
      unit_amount_decimal: String(input.unit_amount),
    };
    const e = this.prices.insert(obj);
    pushIndex(this.pricesByProduct, obj.product, e);
    if (obj.lookup_key) this.priceByLookupKey.set(obj.lookup_key, obj.id);
    return obj;
  }

  insertCoupon(input: CreateCouponInput): Obj {
    if ((input.percent_off === undefined) === (input.amount_off === undefined)) {
      throw new Error('fake stripe: a coupon needs exactly one of percent_off / amount_off');
    }
    const obj: Obj = {
      id: input.id ?? rid('', 8), object: 'coupon', amount_off: input.amount_off ?? null,
      created: input.created ?? this.now(),
      currency: input.amount_off !== undefined ? (input.currency ?? 'usd') : null,
      duration: input.duration ?? 'forever', duration_in_months: input.duration_in_months ?? null,
      livemode: this.livemode, max_redemptions: null, metadata: {}, name: input.name ?? null,
      percent_off: input.percent_off ?? null, redeem_by: null, times_redeemed: 0, valid: true,
    };
    this.coupons.insert(obj);
    return obj;
  }

  private makeDiscount(coupon: string, customer: string, subscription: string, start: number): string {
    const c = this.coupons.get(coupon);
    if (!c) throw new Error(`fake stripe: no such coupon ${coupon}`);
    c.times_redeemed++;
    const end = c.duration === 'repeating' && c.duration_in_months ? addInterval(start, 'month', c.duration_in_months) : null;
    const d: Obj = {
      id: rid('di_'), object: 'discount', checkout_session: null, customer, customer_account: null, end,
      invoice: null, invoice_item: null, promotion_code: null, source: { coupon, type: 'coupon' }, start,
      subscription, subscription_item: null,
    };
    this.discounts.insert(d);
    return d.id;
  }

  insertSubscription(input: CreateSubscriptionInput): Obj {
    const customer = this.requireCustomer(input.customer);
    if (!input.items.length) throw new Error('fake stripe: a subscription needs at least one item');
    const prices = input.items.map((it) => {
      const p = this.prices.get(it.price);
      if (!p) throw new Error(`fake stripe: no such price ${it.price}`);
      if (!p.recurring) throw new Error(`fake stripe: price ${it.price} is not recurring`);
      return p;
    });
    const p0 = prices[0]!;
    for (const p of prices) {
      if (p.currency !== p0.currency || p.recurring.interval !== p0.recurring.interval || p.recurring.interval_count !== p0.recurring.interval_count) {
        throw new Error('fake stripe: all subscription items must share currency and billing interval');
      }
    }
    const created = input.created ?? this.now();
    const start = input.start_date ?? created;
    const status = input.status ?? 'active';
    const periodStart = input.current_period_start ?? start;
    const periodEnd = input.current_period_end ?? addInterval(periodStart, p0.recurring.interval, p0.recurring.interval_count);
    const id = input.id ?? rid('sub_');
    const ended = status === 'canceled' || status === 'incomplete_expired' ? (input.canceled_at ?? periodStart) : null;
    const obj: Obj = {
      id, object: 'subscription', application: null, application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null },
      billing_cycle_anchor: periodStart, billing_cycle_anchor_config: null,
      billing_mode: { flexible: null, type: 'classic' }, billing_thresholds: null, cancel_at: null,
      cancel_at_period_end: input.cancel_at_period_end ?? false, canceled_at: status === 'canceled' ? ended : null,
      cancellation_details: { comment: null, feedback: null, reason: status === 'canceled' ? 'cancellation_requested' : null },
      collection_method: input.collection_method ?? 'charge_automatically', created, currency: p0.currency,
      customer: customer.id, customer_account: null,
      days_until_due: input.collection_method === 'send_invoice' ? (input.days_until_due ?? 30) : null,
      default_payment_method: null, default_source: null, default_tax_rates: [], description: null,
      discounts: [], ended_at: ended,
      invoice_settings: { account_tax_ids: null, issuer: { type: 'self' } },
      items: {
        object: 'list',
        data: input.items.map((it) => ({
          id: rid('si_', 14), object: 'subscription_item', billing_thresholds: null, created,
          current_period_end: periodEnd, current_period_start: periodStart, discounts: [], metadata: {},
          price: it.price, quantity: it.quantity ?? 1, subscription: id, tax_rates: [],
        })),
        has_more: false, total_count: input.items.length, url: `/v1/subscription_items?subscription=${id}`,
      },
      latest_invoice: null, livemode: this.livemode, metadata: { ...(input.metadata ?? {}) },
      next_pending_invoice_item_invoice: null, on_behalf_of: null,
      pause_collection: status === 'paused' ? { behavior: 'void', resumes_at: null } : null,
      payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
      pending_invoice_item_interval: null, pending_setup_intent: null, pending_update: null, schedule: null,
      start_date: start, status, test_clock: null, transfer_data: null,
      trial_end: input.trial_end ?? (status === 'trialing' ? periodEnd : null),
      trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
      trial_start: input.trial_start ?? (status === 'trialing' ? periodStart : null),
    };
    obj.discounts = (input.coupons ?? []).map((c) => this.makeDiscount(c, customer.id, id, start));
    const e = this.subscriptions.insert(obj);
    pushIndex(this.subsByCustomer, customer.id, e);
    for (const p of new Set(input.items.map((it) => it.price))) pushIndex(this.subsByPrice, p, e);
    return obj;
  }

  /** Amounts a subscription bills per period after its discounts. */
  private subscriptionAmounts(sub: Obj): { subtotal: number; discount: number } {
    let subtotal = 0;
    for (const it of sub.items.data) subtotal += (this.prices.get(it.price)?.unit_amount ?? 0) * it.quantity;
    let discount = 0;
    for (const did of sub.discounts) {
      const c = this.coupons.get(this.discounts.get(did)?.source.coupon);
      if (c?.percent_off) discount += Math.round((subtotal - discount) * c.percent_off / 100);
      else if (c?.amount_off) discount += Math.min(c.amount_off, subtotal - discount);
    }
    return { subtotal, discount };
  }

  insertInvoice(input: CreateInvoiceInput): Obj {
    const customer = this.customers.get(input.customer);
    if (!customer) throw new Error(`fake stripe: no such customer ${input.customer}`);
    const sub = input.subscription ? this.subscriptions.get(input.subscription) : undefined;
    if (input.subscription && !sub) throw new Error(`fake stripe: no such subscription ${input.subscription}`);
    const created = input.created ?? this.now();
    const status = input.status ?? 'draft';
    const amounts = sub ? this.subscriptionAmounts(sub) : { subtotal: input.amount_due ?? 0, discount: 0 };
    const subtotal = input.amount_due !== undefined && sub ? input.amount_due : amounts.subtotal;
    const discount = input.amount_due !== undefined ? 0 : amounts.discount;
    const total = subtotal - discount;
    const paid = status === 'paid';
    const id = input.id ?? rid('in_');
    const collection = input.collection_method ?? sub?.collection_method ?? 'charge_automatically';
    const periodStart = input.period_start ?? sub?.items.data[0].current_period_start ?? created;
    const periodEnd = input.period_end ?? sub?.items.data[0].current_period_end ?? created;
    const finalized = status === 'draft' ? null : created;
    const currency = input.currency ?? sub?.currency ?? 'usd';
    const attempts = input.attempt_count ?? (paid ? 1 : 0);
    const obj: Obj = {
      id, object: 'invoice', account_country: 'US', account_name: 'Fake Stripe Account', account_tax_ids: null,
      amount_due: total, amount_overpaid: 0, amount_paid: paid ? total : 0, amount_remaining: paid ? 0 : total,
      amount_shipping: 0, application: null, attempt_count: attempts, attempted: attempts > 0,
      auto_advance: status === 'draft' || status === 'open',
      automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
      automatically_finalizes_at: status === 'draft' ? created + 3600 : null,
      billing_reason: input.billing_reason ?? (sub ? 'subscription_cycle' : 'manual'),
      collection_method: collection, created, currency, custom_fields: null, customer: customer.id,
      customer_account: null, customer_address: null, customer_email: customer.email ?? null,
      customer_name: customer.name ?? null, customer_phone: null, customer_shipping: null, customer_tax_exempt: 'none',
      default_payment_method: null, default_source: null, default_tax_rates: [], description: null,
      discounts: [],
      due_date: input.due_date !== undefined ? input.due_date : collection === 'send_invoice' ? created + 30 * 86400 : null,
      effective_at: finalized, ending_balance: status === 'draft' ? null : 0, footer: null, from_invoice: null,
      hosted_invoice_url: status === 'draft' ? null : `https://invoice.stripe.com/i/${id}`,
      invoice_pdf: status === 'draft' ? null : `https://pay.stripe.com/invoice/${id}/pdf`,
      issuer: { type: 'self' }, last_finalization_error: null, latest_revision: null,
      lines: {
        object: 'list',
        data: sub
          ? sub.items.data.map((it: Obj) => {
            const price = this.prices.get(it.price)!;
            return {
              id: rid('il_'), object: 'line_item', amount: price.unit_amount * it.quantity, currency, description: null,
              discount_amounts: [], discountable: true, discounts: [], invoice: id, livemode: this.livemode, metadata: {},
              parent: { invoice_item_details: null, subscription_item_details: { invoice_item: null, proration: false, proration_details: { credited_items: null }, subscription: sub.id, subscription_item: it.id }, type: 'subscription_item_details' },
              period: { end: periodEnd, start: periodStart },
              pricing: { price_details: { price: price.id, product: price.product }, type: 'price_details', unit_amount_decimal: String(price.unit_amount) },
              quantity: it.quantity, subtotal: price.unit_amount * it.quantity, taxes: [],
            };
          })
          : [],
        has_more: false, total_count: sub ? sub.items.data.length : 0, url: `/v1/invoices/${id}/lines`,
      },
      livemode: this.livemode, metadata: { ...(input.metadata ?? {}) },
      next_payment_attempt: input.next_payment_attempt !== undefined
        ? input.next_payment_attempt
        : status === 'open' && collection === 'charge_automatically' ? created + 3600 : null,
      number: status === 'draft' ? null : `${customer.invoice_prefix}-${String(++this.invoiceCounter).padStart(4, '0')}`,
      on_behalf_of: null,
      parent: sub
        ? { quote_details: null, subscription_details: { metadata: {}, subscription: sub.id }, type: 'subscription_details' }
        : null,
      payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
      period_end: periodEnd, period_start: periodStart, post_payment_credit_notes_amount: 0,
      pre_payment_credit_notes_amount: 0, receipt_number: null, rendering: null, shipping_cost: null,
      shipping_details: null, starting_balance: 0, statement_descriptor: null, status,
      status_transitions: {
        finalized_at: finalized, marked_uncollectible_at: status === 'uncollectible' ? created : null,
        paid_at: paid ? created : null, voided_at: status === 'void' ? created : null,
      },
      subtotal, subtotal_excluding_tax: subtotal, test_clock: null, total,
      total_discount_amounts: discount ? [{ amount: discount, discount: sub!.discounts[0] }] : [],
      total_excluding_tax: total, total_pretax_credit_amounts: [], total_taxes: [], webhooks_delivered_at: created,
    };
    const e = this.invoices.insert(obj);
    pushIndex(this.invoicesByCustomer, customer.id, e);
    if (sub) {
      pushIndex(this.invoicesBySub, sub.id, e);
      const latest = sub.latest_invoice ? this.invoices.get(sub.latest_invoice) : undefined;
      if (!latest || latest.created <= created) sub.latest_invoice = id;
    }
    return obj;
  }

  // ---- mutators: each changes state and appends (and returns) the matching Stripe event ------

  createCustomer(input: CreateCustomerInput = {}): FakeEvent {
    return this.emit('customer.created', this.insertCustomer(input));
  }

  updateCustomer(id: string, patch: Omit<CreateCustomerInput, 'id' | 'created'>): FakeEvent {
    const c = this.requireCustomer(id);
    const before = clone(c);
    if (patch.email !== undefined) c.email = patch.email;
    if (patch.name !== undefined) c.name = patch.name;
    if (patch.description !== undefined) c.description = patch.description;
    if (patch.phone !== undefined) c.phone = patch.phone;
    if (patch.metadata !== undefined) c.metadata = { ...patch.metadata };
    return this.emit('customer.updated', c, before);
  }

  /** Deletes the customer; like Stripe, its live subscriptions are canceled first (with events). */
  deleteCustomer(id: string): FakeEvent {
    const c = this.requireCustomer(id);
    for (const e of this.subscriptionsOf(id)) {
      if (!['canceled', 'incomplete_expired'].includes(e.obj.status)) this.cancelSubscription(e.id);
    }
    const snapshot = this.render(c);
    c.deleted = true;
    const ev = this.emit('customer.deleted', { ...snapshot });
    return ev;
  }

  createProduct(input: CreateProductInput): FakeEvent {
    return this.emit('product.created', this.insertProduct(input));
  }

  createPrice(input: CreatePriceInput): FakeEvent {
    return this.emit('price.created', this.insertPrice(input));
  }

  createCoupon(input: CreateCouponInput): FakeEvent {
    return this.emit('coupon.created', this.insertCoupon(input));
  }

  createSubscription(input: CreateSubscriptionInput): FakeEvent {
    return this.emit('customer.subscription.created', this.insertSubscription(input));
  }

  updateSubscription(id: string, patch: UpdateSubscriptionInput): FakeEvent {
    const s = this.subscriptions.get(id);
    if (!s) throw new Error(`fake stripe: no such subscription ${id}`);
    const before = clone(s);
    if (patch.status !== undefined) {
      s.status = patch.status;
      s.pause_collection = patch.status === 'paused' ? { behavior: 'void', resumes_at: null } : null;
      if (patch.status === 'canceled' || patch.status === 'incomplete_expired') s.ended_at = s.ended_at ?? this.now();
      if (patch.status === 'canceled') s.canceled_at = s.canceled_at ?? this.now();
    }
    if (patch.metadata !== undefined) s.metadata = { ...patch.metadata };
    if (patch.cancel_at_period_end !== undefined) {
      s.cancel_at_period_end = patch.cancel_at_period_end;
      s.cancel_at = patch.cancel_at_period_end ? s.items.data[0].current_period_end : null;
      s.canceled_at = patch.cancel_at_period_end ? this.now() : null;
    }
    if (patch.collection_method !== undefined) s.collection_method = patch.collection_method;
    if (patch.trial_end !== undefined) s.trial_end = patch.trial_end;
    if (patch.items) {
      for (const it of patch.items) if (!this.prices.get(it.price)?.recurring) throw new Error(`fake stripe: bad price ${it.price}`);
      const ref = s.items.data[0];
      s.items.data = patch.items.map((it) => ({
        ...ref, id: rid('si_', 14), created: this.now(), price: it.price, quantity: it.quantity ?? 1,
      }));
      s.items.total_count = s.items.data.length;
      const e = this.subscriptions.byId.get(id)!;
      for (const it of patch.items) {
        const arr = this.subsByPrice.get(it.price);
        if (!arr?.includes(e)) pushIndex(this.subsByPrice, it.price, e);
      }
    }
    for (const item of s.items.data) {
      if (patch.current_period_start !== undefined) item.current_period_start = patch.current_period_start;
      if (patch.current_period_end !== undefined) item.current_period_end = patch.current_period_end;
    }
    if (patch.coupons) s.discounts = patch.coupons.map((c) => this.makeDiscount(c, s.customer, s.id, this.now()));
    return this.emit('customer.subscription.updated', s, before);
  }

  cancelSubscription(id: string, opts: { at?: number; reason?: 'cancellation_requested' | 'payment_failed' | 'payment_disputed' } = {}): FakeEvent {
    const s = this.subscriptions.get(id);
    if (!s) throw new Error(`fake stripe: no such subscription ${id}`);
    const at = opts.at ?? this.now();
    s.status = 'canceled';
    s.canceled_at = at;
    s.ended_at = at;
    s.cancellation_details = { comment: null, feedback: null, reason: opts.reason ?? 'cancellation_requested' };
    return this.emit('customer.subscription.deleted', s);
  }

  /** Creates an invoice (default for the subscription's amount); non-draft ones are also finalized. */
  createInvoice(input: CreateInvoiceInput): FakeEvent {
    const inv = this.insertInvoice(input);
    const ev = this.emit('invoice.created', inv);
    if (inv.status !== 'draft') this.emit('invoice.finalized', inv);
    if (inv.status === 'paid') this.emit('invoice.paid', inv);
    return ev;
  }

  finalizeInvoice(id: string): FakeEvent {
    const inv = this.requireInvoice(id);
    if (inv.status !== 'draft') throw invalid(`This invoice is already finalized, you can't re-finalize a non-draft invoice.`, undefined, 'invoice_not_editable');
    const before = clone(inv);
    const now = this.now();
    inv.status = 'open';
    inv.status_transitions.finalized_at = now;
    inv.effective_at = now;
    inv.ending_balance = 0;
    inv.automatically_finalizes_at = null;
    inv.number = `${this.customers.get(inv.customer)!.invoice_prefix}-${String(++this.invoiceCounter).padStart(4, '0')}`;
    inv.hosted_invoice_url = `https://invoice.stripe.com/i/${id}`;
    inv.invoice_pdf = `https://pay.stripe.com/invoice/${id}/pdf`;
    if (inv.collection_method === 'charge_automatically') inv.next_payment_attempt = now + 3600;
    return this.emit('invoice.finalized', inv, before);
  }

  private requireInvoice(id: string): Obj {
    const inv = this.invoices.get(id);
    if (!inv) throw new Error(`fake stripe: no such invoice ${id}`);
    return inv;
  }

  /** Pays an open (or draft → finalized) invoice; a past_due/unpaid/incomplete subscription recovers to active. */
  payInvoice(id: string): FakeEvent {
    let inv = this.requireInvoice(id);
    if (inv.status === 'draft') this.finalizeInvoice(id);
    inv = this.requireInvoice(id);
    if (inv.status === 'paid') throw invalid('Invoice is already paid', undefined, 'invoice_already_paid');
    if (inv.status !== 'open' && inv.status !== 'uncollectible') throw invalid(`You cannot pay an invoice with status ${inv.status}.`, undefined, 'invoice_not_open');
    const before = clone(inv);
    const now = this.now();
    inv.status = 'paid';
    inv.amount_paid = inv.amount_due;
    inv.amount_remaining = 0;
    inv.attempted = true;
    inv.attempt_count = Math.max(1, inv.attempt_count + (inv.collection_method === 'charge_automatically' ? 1 : 0));
    inv.next_payment_attempt = null;
    inv.auto_advance = false;
    inv.status_transitions.paid_at = now;
    const ev = this.emit('invoice.paid', inv, before);
    this.emit('invoice.payment_succeeded', inv, before);
    const subId = inv.parent?.subscription_details?.subscription;
    const sub = subId ? this.subscriptions.get(subId) : undefined;
    if (sub && sub.latest_invoice === inv.id && ['past_due', 'unpaid', 'incomplete'].includes(sub.status)) {
      this.updateSubscription(sub.id, { status: 'active' });
    }
    this.refreshDelinquency(inv.customer);
    return ev;
  }

  /**
   * A failed automatic collection attempt: attempt_count++, next retry scheduled (null once
   * `final`), `invoice.payment_failed` emitted; an active subscription turns past_due.
   */
  failInvoicePayment(id: string, opts: { nextAttemptInSec?: number; final?: boolean } = {}): FakeEvent {
    const inv = this.requireInvoice(id);
    if (inv.status === 'draft') this.finalizeInvoice(id);
    if (inv.status !== 'open') throw invalid(`You cannot attempt payment on an invoice with status ${inv.status}.`, undefined, 'invoice_not_open');
    const before = clone(inv);
    inv.attempt_count += 1;
    inv.attempted = true;
    inv.next_payment_attempt = opts.final ? null : this.now() + (opts.nextAttemptInSec ?? 3 * 86400);
    const ev = this.emit('invoice.payment_failed', inv, before);
    const subId = inv.parent?.subscription_details?.subscription;
    const sub = subId ? this.subscriptions.get(subId) : undefined;
    if (sub && sub.latest_invoice === inv.id && ['active', 'trialing'].includes(sub.status)) {
      this.updateSubscription(sub.id, { status: 'past_due' });
    }
    const c = this.customers.get(inv.customer);
    if (c && !c.deleted) c.delinquent = true;
    return ev;
  }

  markUncollectible(id: string): FakeEvent {
    const inv = this.requireInvoice(id);
    if (inv.status !== 'open') throw invalid(`You can only mark an open invoice as uncollectible.`, undefined, 'invoice_not_open');
    const before = clone(inv);
    inv.status = 'uncollectible';
    inv.next_payment_attempt = null;
    inv.auto_advance = false;
    inv.status_transitions.marked_uncollectible_at = this.now();
    const ev = this.emit('invoice.marked_uncollectible', inv, before);
    this.refreshDelinquency(inv.customer);
    return ev;
  }

  voidInvoice(id: string): FakeEvent {
    const inv = this.requireInvoice(id);
    if (inv.status !== 'open' && inv.status !== 'uncollectible') throw invalid(`You can only void an open or uncollectible invoice.`, undefined, 'invoice_not_open');
    const before = clone(inv);
    inv.status = 'void';
    inv.next_payment_attempt = null;
    inv.amount_remaining = 0;
    inv.status_transitions.voided_at = this.now();
    const ev = this.emit('invoice.voided', inv, before);
    this.refreshDelinquency(inv.customer);
    return ev;
  }

  private refreshDelinquency(customer: string): void {
    const c = this.customers.get(customer);
    if (!c || c.deleted) return;
    c.delinquent = this.invoicesOf(customer).some((e) => e.obj.status === 'open' && e.obj.attempt_count > 0 && e.obj.amount_remaining > 0);
  }

  // ---- bulk seeding (no events; appends in created order so inserts stay O(1)) -------------

  seedBook(opts: SeedOptions = {}): SeedResult {
    const rnd = prng(opts.seed ?? 42);
    const nCustomers = opts.customers ?? 100;
    const nSubs = opts.subscriptions ?? Math.round(nCustomers * 1.5);
    const nProducts = opts.products ?? 4;
    const now = this.now();
    const startAt = opts.startAt ?? now - 2 * 365 * 86400;
    const weights = opts.statusWeights ?? {
      active: 70, trialing: 8, past_due: 7, canceled: 10, unpaid: 2, incomplete: 1, paused: 2,
    };
    const statusTable = Object.entries(weights) as [SubscriptionStatus, number][];
    const totalWeight = statusTable.reduce((a, [, w]) => a + w, 0);
    const pickStatus = (): SubscriptionStatus => {
      let r = rnd() * totalWeight;
      for (const [s, w] of statusTable) if ((r -= w) < 0) return s;
      return statusTable[0]![0];
    };
    const res: SeedResult = { customerIds: [], subscriptionIds: [], productIds: [], priceIds: [], couponIds: [], invoiceIds: [] };
    const tag = rid('', 6).toLowerCase();
    for (let p = 0; p < nProducts; p++) {
      const prod = this.insertProduct({ name: `Plan ${p + 1}`, created: startAt - 86400 });
      res.productIds.push(prod.id);
      const base = 1000 * (p + 1) * 2 + 900;
      res.priceIds.push(this.insertPrice({ product: prod.id, unit_amount: base, recurring: { interval: 'month' }, lookup_key: `plan_${p + 1}_monthly_${tag}`, created: startAt - 86400 }).id);
      res.priceIds.push(this.insertPrice({ product: prod.id, unit_amount: base * 10, recurring: { interval: 'year' }, lookup_key: `plan_${p + 1}_yearly_${tag}`, created: startAt - 86400 }).id);
    }
    res.couponIds.push(this.insertCoupon({ percent_off: 20, duration: 'forever', name: '20% off', created: startAt - 86400 }).id);
    res.couponIds.push(this.insertCoupon({ amount_off: 500, currency: 'usd', duration: 'repeating', duration_in_months: 3, name: '$5 off', created: startAt - 86400 }).id);
    const span = Math.max(1, now - 86400 - startAt);
    const step = span / Math.max(1, nCustomers);
    const custCreated: number[] = [];
    for (let i = 0; i < nCustomers; i++) {
      const created = Math.floor(startAt + i * step);
      const c = this.insertCustomer({
        email: `customer${i}@example${i % 97}.com`, name: `Customer ${i}`, created,
        metadata: i % 3 === 0 ? { crm_id: `crm_${i}` } : {},
      });
      res.customerIds.push(c.id);
      custCreated.push(created);
    }
    const specs: { customer: number; created: number }[] = [];
    for (let i = 0; i < nSubs; i++) {
      const ci = i < nCustomers ? i : Math.floor(rnd() * nCustomers);
      const created = Math.min(now - 60, custCreated[ci]! + Math.floor(rnd() * Math.min(30 * 86400, Math.max(60, now - custCreated[ci]!))));
      specs.push({ customer: ci, created });
    }
    specs.sort((a, b) => a.created - b.created);
    const subs: Obj[] = [];
    for (const spec of specs) {
      const status = pickStatus();
      const priceId = res.priceIds[Math.floor(rnd() * res.priceIds.length)]!;
      const price = this.prices.get(priceId)!;
      // Roll the period forward to the one containing `now` (or the last one for ended subs).
      let ps = spec.created;
      let pe = addInterval(ps, price.recurring.interval, 1);
      const horizon = status === 'canceled' || status === 'incomplete_expired' ? spec.created + Math.floor((now - spec.created) * rnd()) : now;
      while (pe <= horizon) {
        ps = pe;
        pe = addInterval(ps, price.recurring.interval, 1);
      }
      const sub = this.insertSubscription({
        customer: res.customerIds[spec.customer]!, items: [{ price: priceId, quantity: 1 + Math.floor(rnd() * 3) }],
        status, created: spec.created, current_period_start: ps, current_period_end: pe,
        canceled_at: status === 'canceled' || status === 'incomplete_expired' ? horizon : null,
        coupons: rnd() < (opts.discountRate ?? 0.1) ? [res.couponIds[Math.floor(rnd() * res.couponIds.length)]!] : [],
      });
      subs.push(sub);
      res.subscriptionIds.push(sub.id);
    }
    const perSub = opts.invoicesPerSubscription ?? 0;
    if (perSub > 0) {
      const invSpecs: { sub: Obj; created: number; latest: boolean }[] = [];
      for (const sub of subs) {
        const item = sub.items.data[0];
        const interval = this.prices.get(item.price)!.recurring.interval as Interval;
        let t = item.current_period_start;
        for (let k = 0; k < perSub && t >= sub.created; k++) {
          invSpecs.push({ sub, created: t, latest: k === 0 });
          t = addInterval(t, interval, -1);
        }
      }
      invSpecs.sort((a, b) => a.created - b.created);
      for (const spec of invSpecs) {
        const st = spec.sub.status as SubscriptionStatus;
        const failing = spec.latest && ['past_due', 'unpaid', 'incomplete'].includes(st);
        const status: InvoiceStatus = !spec.latest ? 'paid' : failing ? (st === 'unpaid' ? 'uncollectible' : 'open') : 'paid';
        const inv = this.insertInvoice({
          customer: spec.sub.customer, subscription: spec.sub.id, status, created: spec.created,
          attempt_count: failing ? 1 + Math.floor(rnd() * 3) : undefined,
          next_payment_attempt: status === 'open' ? now + 86400 : null,
        });
        if (failing) this.customers.get(spec.sub.customer)!.delinquent = status === 'open';
        res.invoiceIds.push(inv.id);
      }
    }
    return res;
  }
}

// ---------------------------------------------------------------------------------------
// The server

interface ReqCtx {
  book: FakeBook;
  key: KeyRecord;
  render: RenderCtx;
  requestId: string;
  idempotencyKey: string | null;
  method: string;
  path: string;
}

type Handler = (ctx: ReqCtx, params: Obj, m: RegExpExecArray) => Obj;

const NOUN: Record<Kind, string> = {
  customer: 'customer', product: 'product', price: 'price', coupon: 'coupon', discount: 'discount',
  subscription: 'subscription', invoice: 'invoice', event: 'event', payment_intent: 'payment_intent',
};

export class FakeStripe {
  readonly url: string;
  readonly port: number;
  readonly platformAccount: string;
  /** Connect application id of the platform (for `client_id` in OAuth). */
  readonly clientId: string;
  /** Secret key registered at start for the platform (mode from `livemode`). */
  readonly secretKey: string;
  readonly requests: RequestLogEntry[] = [];
  readonly writes: WriteLogEntry[] = [];
  private readonly server: http.Server;
  private readonly keys = new Map<string, KeyRecord>();
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly books = new Map<string, FakeBook>();
  private readonly faults: Fault[] = [];
  private readonly idempotency = new Map<string, { fingerprint: string; status: number; body: Obj; requestId: string }>();
  private readonly authCodes = new Map<string, { account: string; mode: FakeMode; platform: string; scope: string; used: boolean; tokens: string[] }>();
  private readonly refreshTokens = new Map<string, { account: string; platform: string; scope: string; mode: FakeMode }>();
  private rateLimitPerSec: number | undefined;
  private fixedNow: number | null = null;
  private readonly defaultMode: FakeMode;
  private readonly routes: [string, RegExp, Handler][];

  constructor(server: http.Server, port: number, opts: FakeStripeOptions) {
    this.server = server;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.rateLimitPerSec = opts.rateLimitPerSec;
    this.defaultMode = opts.livemode ? 'live' : 'test';
    this.platformAccount = this.addAccount({ name: 'Pivotal Test Platform' });
    this.clientId = rid('ca_', 32);
    this.secretKey = rid(`sk_${this.defaultMode}_`, 32);
    this.addApiKey(this.secretKey, { mode: this.defaultMode });
    this.routes = this.buildRoutes();
  }

  // ---- configuration -------------------------------------------------------------------

  /** Unix seconds; real time unless pinned with `setNow`. */
  now(): number {
    return this.fixedNow ?? Math.floor(Date.now() / 1000);
  }
  setNow(ts: number | null): void {
    this.fixedNow = ts;
  }
  advance(seconds: number): void {
    this.fixedNow = this.now() + seconds;
  }
  setRateLimit(perSec: number | undefined): void {
    this.rateLimitPerSec = perSec;
  }

  addApiKey(key: string, opts: ApiKeyOptions): void {
    if (!/^(sk|rk)_(test|live)_/.test(key)) throw new Error(`fake stripe: secret keys look like sk_test_… / rk_live_…, got ${key}`);
    if (!key.startsWith(`${key.slice(0, 2)}_${opts.mode}_`)) throw new Error(`fake stripe: key ${key} does not match mode ${opts.mode}`);
    const account = opts.account ?? this.platformAccount;
    if (!this.accounts.has(account)) this.addAccount({ id: account });
    this.keys.set(key, {
      key, mode: opts.mode, account, restricted: opts.restricted ?? key.startsWith('rk_'),
      writable: new Set(opts.writable ?? []), readable: opts.readable ? new Set(opts.readable) : null, revoked: false, hits: [],
    });
  }

  revokeApiKey(key: string): void {
    const k = this.keys.get(key);
    if (k) k.revoked = true;
  }

  addAccount(opts: { id?: string; name?: string; email?: string; country?: string; default_currency?: string } = {}): string {
    const id = opts.id ?? rid('acct_', 16);
    this.accounts.set(id, {
      id, name: opts.name ?? `Account ${id.slice(-4)}`, email: opts.email ?? `owner+${id.slice(-6).toLowerCase()}@example.com`,
      country: opts.country ?? 'US', default_currency: opts.default_currency ?? 'usd', created: this.now(), platforms: new Set(),
    });
    return id;
  }

  /** Connects an account to the platform without the OAuth dance (Stripe-Account then works). */
  connectAccount(account: string): void {
    if (!this.accounts.has(account)) this.addAccount({ id: account });
    this.accounts.get(account)!.platforms.add(this.platformAccount);
  }

  /** The data of one account in one mode (default: platform, default mode). */
  book(account: string = this.platformAccount, livemode: boolean = this.defaultMode === 'live'): FakeBook {
    const k = `${account}:${livemode ? 'live' : 'test'}`;
    let b = this.books.get(k);
    if (!b) {
      if (!this.accounts.has(account)) this.addAccount({ id: account });
      b = new FakeBook(account, livemode, () => this.now());
      this.books.set(k, b);
    }
    return b;
  }

  /** Next `n` requests (matching `opts.path` if given) fail with `status` before touching state. */
  failNext(n: number, status: number, opts: FailOptions = {}): void {
    for (let i = 0; i < n; i++) this.faults.push({ status, opts });
  }

  clearLogs(): void {
    this.requests.length = 0;
    this.writes.length = 0;
  }

  // ---- mutators on the default book --------------------------------------------------------

  get events(): FakeEvent[] {
    return this.book().events.sorted.map((e) => clone(e.obj) as FakeEvent);
  }
  createCustomer(input?: CreateCustomerInput): FakeEvent { return this.book().createCustomer(input); }
  updateCustomer(id: string, patch: Omit<CreateCustomerInput, 'id' | 'created'>): FakeEvent { return this.book().updateCustomer(id, patch); }
  deleteCustomer(id: string): FakeEvent { return this.book().deleteCustomer(id); }
  createProduct(input: CreateProductInput): FakeEvent { return this.book().createProduct(input); }
  createPrice(input: CreatePriceInput): FakeEvent { return this.book().createPrice(input); }
  createCoupon(input: CreateCouponInput): FakeEvent { return this.book().createCoupon(input); }
  createSubscription(input: CreateSubscriptionInput): FakeEvent { return this.book().createSubscription(input); }
  updateSubscription(id: string, patch: UpdateSubscriptionInput): FakeEvent { return this.book().updateSubscription(id, patch); }
  cancelSubscription(id: string, opts?: { at?: number; reason?: 'cancellation_requested' | 'payment_failed' | 'payment_disputed' }): FakeEvent { return this.book().cancelSubscription(id, opts); }
  createInvoice(input: CreateInvoiceInput): FakeEvent { return this.book().createInvoice(input); }
  finalizeInvoice(id: string): FakeEvent { return this.book().finalizeInvoice(id); }
  payInvoice(id: string): FakeEvent { return this.book().payInvoice(id); }
  failInvoicePayment(id: string, opts?: { nextAttemptInSec?: number; final?: boolean }): FakeEvent { return this.book().failInvoicePayment(id, opts); }
  markUncollectible(id: string): FakeEvent { return this.book().markUncollectible(id); }
  voidInvoice(id: string): FakeEvent { return this.book().voidInvoice(id); }
  seedBook(opts?: SeedOptions): SeedResult { return this.book().seedBook(opts); }

  // ---- Connect OAuth -------------------------------------------------------------------------

  /** An authorization code as Stripe would append to the redirect URI after the user connects. */
  issueAuthCode(account: string, mode: FakeMode = this.defaultMode, opts: { scope?: 'read_write' | 'read_only' } = {}): string {
    if (!this.accounts.has(account)) this.addAccount({ id: account });
    const code = rid('ac_', 32);
    this.authCodes.set(code, { account, mode, platform: this.platformAccount, scope: opts.scope ?? 'read_write', used: false, tokens: [] });
    return code;
  }

  // ---- webhooks ------------------------------------------------------------------------------

  /** `Stripe-Signature` value: t=<ts>,v1=HMAC-SHA256(secret, `${t}.${payload}`). */
  signPayload(payload: string, secret: string, timestamp: number = this.now()): string {
    const sig = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
    return `t=${timestamp},v1=${sig}`;
  }

  /** POSTs the event like Stripe's webhook sender (pretty-printed JSON, signed); returns the HTTP status. */
  async deliverEvent(url: string, event: FakeEvent | Obj, secret: string, opts: { timestamp?: number } = {}): Promise<number> {
    const payload = JSON.stringify(event, null, 2);
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'stripe-signature': this.signPayload(payload, secret, opts.timestamp),
      },
      body: payload,
    });
    await res.arrayBuffer();
    return res.status;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- request pipeline ----------------------------------------------------------------------

  /** @internal */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const query = url.search.slice(1);
    const requestId = rid('req_', 14);
    const header = (n: string): string | null => {
      const v = req.headers[n];
      return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
    };
    const idempotencyKey = header('idempotency-key');
    const apiVersion = header('stripe-version');
    const stripeAccount = header('stripe-account');
    let params: Obj = {};
    let status: number;
    let body: Obj;
    const headers: Record<string, string> = { 'request-id': requestId, 'content-type': 'application/json' };
    const ctxInfo: { account: string | null; livemode: boolean | null } = { account: null, livemode: null };
    try {
      params = parseParams(method === 'GET' || method === 'DELETE' ? query : raw);
      if (method === 'POST' && query) {
        // Stripe reads query-string params on POSTs too; merge them so they are validated.
        Object.assign(params, parseParams(query));
      }
      const fault = this.takeFault(path);
      if (fault) throw this.faultError(fault);
      if (path.startsWith('/oauth/')) {
        ({ status, body } = this.handleOAuth(method, path, params, header('authorization')));
      } else {
        const r = this.handleApi(method, path, params, {
          authorization: header('authorization'), apiVersion, stripeAccount, idempotencyKey, requestId,
        }, ctxInfo);
        status = r.status;
        body = r.body;
        Object.assign(headers, r.headers);
      }
    } catch (err) {
      ({ status, body } = this.errorResponse(err, requestId, ctxInfo.livemode, headers));
    }
    headers['stripe-version'] = apiVersion ?? FAKE_STRIPE_API_VERSION;
    if (idempotencyKey && method === 'POST') headers['idempotency-key'] = idempotencyKey;
    if (stripeAccount) headers['stripe-account'] = stripeAccount;
    const text = JSON.stringify(body!, null, 2);
    res.writeHead(status, headers);
    res.end(text);
    this.requests.push({ method, path, query, status, body: params, requestId, apiVersion, idempotencyKey, stripeAccount });
    if (method !== 'GET') {
      const segs = path.split('/').filter(Boolean);
      this.writes.push({
        method, path, resource: segs[0] === 'v1' ? (segs[1] ?? '') : (segs[0] ?? ''), status,
        accepted: status >= 200 && status < 300, params, account: ctxInfo.account, livemode: ctxInfo.livemode, idempotencyKey,
      });
    }
  }

  private takeFault(path: string): Fault | undefined {
    const i = this.faults.findIndex((f) => {
      const p = f.opts.path;
      return p === undefined || (typeof p === 'string' ? path === p || path.startsWith(p) : p.test(path));
    });
    if (i < 0) return undefined;
    return this.faults.splice(i, 1)[0];
  }

  private faultError(f: Fault): StripeApiError {
    const { status } = f;
    let e: StripeApiError;
    if (status === 429) {
      e = new StripeApiError(429, 'invalid_request_error', f.opts.message ?? 'Request rate limit exceeded. Learn more about rate limits here https://docs.stripe.com/rate-limits.', f.opts.code ?? 'rate_limit');
    } else if (status === 409) {
      e = new StripeApiError(409, 'invalid_request_error', f.opts.message ?? 'This object cannot be accessed right now because another API request or Stripe process is currently accessing it.', f.opts.code ?? 'lock_timeout');
    } else if (status >= 500) {
      e = new StripeApiError(status, 'api_error', f.opts.message ?? 'An unknown error occurred', f.opts.code);
    } else if (status === 402) {
      e = new StripeApiError(402, 'card_error', f.opts.message ?? 'Your card was declined.', f.opts.code ?? 'card_declined');
    } else {
      e = new StripeApiError(status, 'invalid_request_error', f.opts.message ?? 'Injected failure', f.opts.code);
    }
    const retry = f.opts.shouldRetry ?? (status === 429 || status === 409 ? true : undefined);
    if (retry !== undefined) e.headers['stripe-should-retry'] = String(retry);
    return e;
  }

  private errorResponse(err: unknown, requestId: string, livemode: boolean | null, headers: Record<string, string>): { status: number; body: Obj } {
    if (err instanceof OAuthError) return { status: err.status, body: { error: err.error, error_description: err.message } };
    if (!(err instanceof StripeApiError)) {
      // A bug in the fake surfaces as Stripe's generic 500 so the SDK raises StripeAPIError.
      return {
        status: 500,
        body: { error: { type: 'api_error', message: `Fake Stripe internal error: ${(err as Error)?.message ?? String(err)}` } },
      };
    }
    Object.assign(headers, err.headers);
    const error: Obj = { type: err.type };
    if (err.code) {
      error.code = err.code;
      error.doc_url = `https://stripe.com/docs/error-codes/${err.code.replace(/_/g, '-')}`;
    }
    error.message = err.message;
    if (err.param) error.param = err.param;
    error.request_log_url = `https://dashboard.stripe.com/${livemode === false ? 'test/' : ''}logs/${requestId}?t=${this.now()}`;
    return { status: err.status, body: { error } };
  }

  private authenticate(authorization: string | null): KeyRecord {
    let key: string | null = null;
    if (authorization?.startsWith('Bearer ')) key = authorization.slice(7).trim();
    else if (authorization?.startsWith('Basic ')) key = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':')[0] ?? '';
    if (!key) {
      throw new StripeApiError(401, 'invalid_request_error',
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://docs.stripe.com/api#authentication for details, or we can help at https://support.stripe.com/.");
    }
    if (key.startsWith('pk_')) {
      throw new StripeApiError(401, 'invalid_request_error', 'This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.', 'secret_key_required');
    }
    const rec = this.keys.get(key);
    if (!rec) throw new StripeApiError(401, 'invalid_request_error', `Invalid API Key provided: ${maskKey(key)}`, 'api_key_invalid');
    if (rec.revoked) throw new StripeApiError(401, 'invalid_request_error', `Expired API Key provided: ${maskKey(key)}. Application access may have been revoked.`, 'api_key_expired');
    return rec;
  }

  private rateLimit(rec: KeyRecord): void {
    if (!this.rateLimitPerSec) return;
    const t = Date.now();
    while (rec.hits.length && rec.hits[0]! <= t - 1000) rec.hits.shift();
    if (rec.hits.length >= this.rateLimitPerSec) {
      const e = new StripeApiError(429, 'invalid_request_error', 'Request rate limit exceeded. Learn more about rate limits here https://docs.stripe.com/rate-limits.', 'rate_limit');
      e.headers['stripe-should-retry'] = 'true';
      throw e;
    }
    rec.hits.push(t);
  }

  private handleApi(
    method: string, path: string, params: Obj,
    h: { authorization: string | null; apiVersion: string | null; stripeAccount: string | null; idempotencyKey: string | null; requestId: string },
    info: { account: string | null; livemode: boolean | null },
  ): { status: number; body: Obj; headers: Record<string, string> } {
    const key = this.authenticate(h.authorization);
    info.account = key.account;
    info.livemode = key.mode === 'live';
    this.rateLimit(key);
    if (h.apiVersion !== null && !/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(h.apiVersion)) {
      throw invalid(`Invalid Stripe API version: ${h.apiVersion}`, undefined, 'api_version_invalid');
    }
    let account = key.account;
    if (h.stripeAccount && h.stripeAccount !== key.account) {
      const acct = this.accounts.get(h.stripeAccount);
      if (!acct || !acct.platforms.has(key.account)) {
        throw new StripeApiError(403, 'invalid_request_error',
          `The provided key '${maskKey(key.key)}' does not have access to account '${h.stripeAccount}' (or that account does not exist). Application access may have been revoked.`,
          'account_invalid');
      }
      account = acct.id;
    }
    info.account = account;
    const book = this.book(account, key.mode === 'live');
    const legacy = !!h.apiVersion && h.apiVersion.slice(0, 10) < LEGACY_SHAPES_BEFORE;
    const ctx: ReqCtx = { book, key, render: { legacy }, requestId: h.requestId, idempotencyKey: h.idempotencyKey, method, path };

    let route: [Handler, RegExpExecArray] | undefined;
    for (const [m, re, fn] of this.routes) {
      if (m !== method) continue;
      const match = re.exec(path);
      if (match) {
        route = [fn, match];
        break;
      }
    }
    if (!route) {
      throw new StripeApiError(404, 'invalid_request_error',
        `Unrecognized request URL (${method}: ${path}). Please see https://docs.stripe.com or we can help at https://support.stripe.com/.`);
    }
    const resource = path.split('/')[2] ?? '';
    if (method === 'GET' && key.restricted && key.readable && !key.readable.has(resource) && !key.writable.has(resource)) {
      throw new StripeApiError(403, 'invalid_request_error',
        `The provided key '${maskKey(key.key)}' does not have the required permissions for this endpoint on account '${account}'. Having the 'rak_${resource.replace(/s$/, '')}_read' permission would allow this request to continue.`);
    }
    if (method !== 'GET' && key.restricted && !key.writable.has(resource)) {
      throw new StripeApiError(403, 'invalid_request_error',
        `The provided key '${maskKey(key.key)}' does not have the required permissions for this endpoint on account '${account}'. Having the 'rak_${resource.replace(/s$/, '')}_write' permission would allow this request to continue.`);
    }
    if (method === 'POST' && h.idempotencyKey) {
      if (h.idempotencyKey.length > 255) throw invalid('Idempotency-Key must be at most 255 characters long.');
      const idemKey = `${key.key}|${account}|${h.idempotencyKey}`;
      const prior = this.idempotency.get(idemKey);
      const fingerprint = `${method} ${path} ${JSON.stringify(params)}`;
      if (prior) {
        if (prior.fingerprint !== fingerprint) {
          throw new StripeApiError(400, 'idempotency_error',
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${h.idempotencyKey}' if you meant to execute a different request.`);
        }
        return { status: prior.status, body: clone(prior.body), headers: { 'idempotent-replayed': 'true', 'original-request': prior.requestId } };
      }
      const body = route[0](ctx, params, route[1]);
      this.idempotency.set(idemKey, { fingerprint, status: 200, body: clone(body), requestId: h.requestId });
      return { status: 200, body, headers: {}};
    }
    return { status: 200, body: route[0](ctx, params, route[1]), headers: {}};
  }

  private handleOAuth(method: string, path: string, params: Obj, authorization: string | null): { status: number; body: Obj } {
    if (method !== 'POST' || (path !== '/oauth/token' && path !== '/oauth/deauthorize')) {
      throw new OAuthError(404, 'invalid_request', `Unrecognized request URL (${method}: ${path}).`);
    }
    const secret = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : (params.client_secret as string | undefined);
    if (!secret) throw new OAuthError(401, 'invalid_client', 'No authentication was provided. Send your secret API key using the Authorization header, or as a client_secret POST parameter.');
    const key = this.keys.get(secret);
    if (!key || key.revoked || key.restricted || key.account !== this.platformAccount) {
      throw new OAuthError(401, 'invalid_client', `Invalid API Key provided: ${maskKey(secret)}`);
    }
    if (path === '/oauth/deauthorize') {
      known(params, ['client_id', 'stripe_user_id', 'client_secret']);
      if (params.client_id !== this.clientId) throw new OAuthError(401, 'invalid_client', `No such application: '${String(params.client_id ?? '')}'`);
      const acct = typeof params.stripe_user_id === 'string' ? this.accounts.get(params.stripe_user_id) : undefined;
      if (!acct || !acct.platforms.has(this.platformAccount)) {
        throw new OAuthError(401, 'invalid_client', `Stripe user ${String(params.stripe_user_id ?? '')} is not connected to application ${this.clientId}.`);
      }
      acct.platforms.delete(this.platformAccount);
      for (const k of this.keys.values()) if (k.account === acct.id && k.key.includes('_oauth_')) k.revoked = true;
      for (const [rt, r] of this.refreshTokens) if (r.account === acct.id) this.refreshTokens.delete(rt);
      // Stripe tells the platform through an event on its own account.
      const ev = this.book(this.platformAccount, key.mode === 'live').emit('account.application.deauthorized', {
        id: this.clientId, object: 'application', name: 'Pivotal',
      });
      const stored = this.book(this.platformAccount, key.mode === 'live').events.get(ev.id);
      if (stored) stored.account = acct.id;
      return { status: 200, body: { stripe_user_id: acct.id } };
    }
    known(params, ['grant_type', 'code', 'refresh_token', 'scope', 'client_secret', 'assert_capabilities', 'expand']);
    const grant = params.grant_type;
    if (grant === undefined) throw new OAuthError(400, 'invalid_request', 'No grant type specified');
    let account: string;
    let scope: string;
    let mode: FakeMode;
    if (grant === 'authorization_code') {
      if (typeof params.code !== 'string') throw new OAuthError(400, 'invalid_request', 'No authorization code provided');
      const ac = this.authCodes.get(params.code);
      if (!ac) throw new OAuthError(400, 'invalid_grant', `Authorization code does not exist: ${params.code}`);
      if (ac.used) {
        for (const t of ac.tokens) this.revokeApiKey(t);
        throw new OAuthError(400, 'invalid_grant', 'This authorization code has already been used. All tokens issued with this code have been revoked.');
      }
      if (ac.mode !== key.mode) {
        throw new OAuthError(400, 'invalid_grant', `Authorization code provided does not belong to you: ${params.code} (it was issued in ${ac.mode} mode)`);
      }
      ac.used = true;
      account = ac.account;
      scope = ac.scope;
      mode = ac.mode;
      const tokens = this.mintTokens(account, scope, mode);
      ac.tokens.push(tokens.access_token);
      return { status: 200, body: tokens };
    }
    if (grant === 'refresh_token') {
      const rt = typeof params.refresh_token === 'string' ? this.refreshTokens.get(params.refresh_token) : undefined;
      if (!rt) throw new OAuthError(400, 'invalid_grant', `Invalid refresh token: ${String(params.refresh_token ?? '')}`);
      account = rt.account;
      scope = typeof params.scope === 'string' ? params.scope : rt.scope;
      mode = rt.mode;
      return { status: 200, body: this.mintTokens(account, scope, mode) };
    }
    throw new OAuthError(400, 'unsupported_grant_type', `Unsupported grant type: ${String(grant)}`);
  }

  private mintTokens(account: string, scope: string, mode: FakeMode): Obj {
    this.connectAccount(account);
    const access = rid(`sk_${mode}_oauth_`, 24);
    this.addApiKey(access, { mode, account, restricted: scope === 'read_only' });
    const refresh = rid('rt_', 32);
    this.refreshTokens.set(refresh, { account, platform: this.platformAccount, scope, mode });
    return {
      access_token: access, livemode: mode === 'live', refresh_token: refresh, scope, stripe_publishable_key: rid(`pk_${mode}_`, 32),
      stripe_user_id: account, token_type: 'bearer',
    };
  }

  // ---- API endpoints -------------------------------------------------------------------------

  private buildRoutes(): [string, RegExp, Handler][] {
    const id = '([^/]+)';
    const r = (m: string, p: string, h: Handler): [string, RegExp, Handler] => [m, new RegExp(`^${p}$`), h];
    return [
      r('GET', '/v1/account', (ctx, p) => this.getAccount(ctx, p)),
      r('GET', '/v1/customers', (ctx, p) => this.listCustomers(ctx, p)),
      r('POST', '/v1/customers', (ctx, p) => this.createCustomerApi(ctx, p)),
      r('GET', `/v1/customers/${id}`, (ctx, p, m) => this.retrieve(ctx, p, 'customer', m[1]!)),
      r('POST', `/v1/customers/${id}`, (ctx, p, m) => this.updateCustomerApi(ctx, p, m[1]!)),
      r('DELETE', `/v1/customers/${id}`, (ctx, p, m) => this.deleteCustomerApi(ctx, p, m[1]!)),
      r('GET', '/v1/products', (ctx, p) => this.listProducts(ctx, p)),
      r('POST', '/v1/products', (ctx, p) => this.createProductApi(ctx, p)),
      r('GET', `/v1/products/${id}`, (ctx, p, m) => this.retrieve(ctx, p, 'product', m[1]!)),
      r('POST', `/v1/products/${id}`, (ctx, p, m) => this.updateProductApi(ctx, p, m[1]!)),
      r('DELETE', `/v1/products/${id}`, (ctx, p, m) => this.deleteProductApi(ctx, p, m[1]!)),
      r('GET', '/v1/prices', (ctx, p) => this.listPrices(ctx, p)),
      r('POST', '/v1/prices', (ctx, p) => this.createPriceApi(ctx, p)),
      r('GET', `/v1/prices/${id}`, (ctx, p, m) => this.retrieve(ctx, p, 'price', m[1]!)),
      r('POST', `/v1/prices/${id}`, (ctx, p, m) => this.updatePriceApi(ctx, p, m[1]!)),
      r('GET', '/v1/coupons', (ctx, p) => this.listSimple(ctx, p, 'coupon', '/v1/coupons')),
      r('GET', `/v1/coupons/${id}`, (ctx, p, m) => this.retrieve(ctx, p, 'coupon', m[1]!)),
      r('GET', '/v1/subscriptions', (ctx, p) => this.listSubscriptions(ctx, p)),
      r('POST', '/v1/subscriptions', (ctx, p) => this.createSubscriptionApi(ctx, p)),
      r('GET', `/v1/subscriptions/${id}`, (ctx, p, m) => this.retrieve(ctx, p, 'subscription', m[1]!)),
      r('POST', `/v1/subscriptions/${id}`, (ctx, p, m) => this.updateSubscriptionApi(ctx, p, m[1]!)),
      r('DELETE', `/v1/subscriptions/${id}`, (ctx, p, m) => this.cancelSubscriptionApi(ctx, p, m[1]!)),
      r('GET', '/v1/invoices', (ctx, p) => this.listInvoices(ctx, p)),
      r('POST', '/v1/invoices', (ctx, p) => this.createInvoiceApi(ctx, p)),
      r('GET', `/v1/invoices/${id}`, (ctx, p, m) => this.retrieve(ctx, p, 'invoice', m[1]!)),
      r('POST', `/v1/invoices/${id}/(finalize|pay|void|mark_uncollectible)`, (ctx, p, m) => this.invoiceActionApi(ctx, p, m[1]!, m[2]!)),
      r('GET', '/v1/events', (ctx, p) => this.listEvents(ctx, p)),
      r('GET', `/v1/events/${id}`, (ctx, p, m) => this.retrieve(ctx, p, 'event', m[1]!)),
      r('GET', `/v1/payment_intents/${id}`, (ctx, p, m) => this.retrieve(ctx, p, 'payment_intent', m[1]!)),
      r('POST', '/v1/payment_intents', (ctx, p) => this.createPaymentIntentApi(ctx, p)),
      r('POST', '/v1/refunds', (ctx, p) => this.createRefundApi(ctx, p)),
    ];
  }

  private expandParam(params: Obj): string[] {
    if (params.expand === undefined) return [];
    return asArray(params.expand, 'expand').map((v, i) => {
      if (typeof v !== 'string') throw invalid('Invalid string', `expand[${i}]`);
      return v;
    });
  }

  private out(ctx: ReqCtx, obj: Obj, params: Obj): Obj {
    return ctx.book.expand(ctx.book.render(obj, ctx.render), this.expandParam(params), ctx.render);
  }

  private notFound(ctx: ReqCtx, kind: Kind, id: string, param = 'id'): StripeApiError {
    let msg = `No such ${NOUN[kind]}: '${id}'`;
    // Stripe points out ids that exist in the other mode, a common key mix-up.
    const other = this.books.get(`${ctx.book.account}:${ctx.book.livemode ? 'test' : 'live'}`);
    if (other?.get(kind, id)) {
      msg += ctx.book.livemode
        ? '; a similar object exists in test mode, but a live mode key was used to make this request.'
        : '; a similar object exists in live mode, but a test mode key was used to make this request.';
    }
    return invalid(msg, param, 'resource_missing', 404);
  }

  private find(ctx: ReqCtx, kind: Kind, id: string, param = 'id'): Obj {
    const o = ctx.book.get(kind, id);
    if (!o) throw this.notFound(ctx, kind, id, param);
    return o;
  }

  private retrieve(ctx: ReqCtx, params: Obj, kind: Kind, id: string): Obj {
    known(params, ['expand']);
    return this.out(ctx, this.find(ctx, kind, id), params);
  }

  private pageParams(ctx: ReqCtx, params: Obj, kind: Kind): PageRequest {
    const limit = optInt(params, 'limit', 'limit', 1, 100) ?? 10;
    const sa = optStr(params, 'starting_after');
    const eb = optStr(params, 'ending_before');
    if (sa !== undefined && eb !== undefined) {
      throw invalid('You may only specify one of these parameters: ending_before, starting_after.', 'ending_before');
    }
    const cursor = (v: string, name: string) => {
      const e = ctx.book.collection(kind).byId.get(v);
      if (!e) throw this.notFound(ctx, kind, v, name);
      return e;
    };
    return {
      limit,
      startingAfter: sa !== undefined ? cursor(sa, 'starting_after') : undefined,
      endingBefore: eb !== undefined ? cursor(eb, 'ending_before') : undefined,
    };
  }

  private listResponse(ctx: ReqCtx, params: Obj, url: string, page: { items: Obj[]; hasMore: boolean }): Obj {
    const list = { object: 'list', data: page.items.map((o) => ctx.book.render(o, ctx.render)), has_more: page.hasMore, url };
    return ctx.book.expand(list, this.expandParam(params), ctx.render);
  }

  private static readonly PAGE = ['limit', 'starting_after', 'ending_before', 'expand'];

  private listSimple(ctx: ReqCtx, params: Obj, kind: Kind, url: string): Obj {
    known(params, [...FakeStripe.PAGE, 'created']);
    const created = optRange(params, 'created');
    const page = this.pageParams(ctx, params, kind);
    return this.listResponse(ctx, params, url, paginate(ctx.book.collection(kind).sorted, (o) => inRange(o.created, created), page));
  }

  private getAccount(ctx: ReqCtx, params: Obj): Obj {
    known(params, ['expand']);
    const a = this.accounts.get(ctx.book.account)!;
    const standalone = a.id === this.platformAccount || a.platforms.size === 0;
    return {
      id: a.id, object: 'account', business_profile: { mcc: null, name: a.name, support_email: null, url: null },
      business_type: 'company', capabilities: { card_payments: 'active', transfers: 'active' }, charges_enabled: true,
      controller: standalone ? { type: 'account' } : { is_controller: false, type: 'account' }, country: a.country,
      created: a.created, default_currency: a.default_currency, details_submitted: true, email: a.email,
      metadata: {}, payouts_enabled: true,
      settings: { dashboard: { display_name: a.name, timezone: 'Etc/UTC' } }, type: 'standard',
    };
  }

  // customers

  private listCustomers(ctx: ReqCtx, params: Obj): Obj {
    known(params, [...FakeStripe.PAGE, 'created', 'email', 'test_clock']);
    const email = optStr(params, 'email');
    const created = optRange(params, 'created');
    if (email !== undefined && email.length > 512) throw invalid('Email must be at most 512 characters.', 'email');
    optStr(params, 'test_clock');
    const page = this.pageParams(ctx, params, 'customer');
    // Email filter is exact and case-sensitive, like Stripe's; deleted customers never list.
    const pred = (o: Obj) => !o.deleted && (email === undefined || o.email === email) && inRange(o.created, created);
    return this.listResponse(ctx, params, '/v1/customers', paginate(ctx.book.customers.sorted, pred, page));
  }

  private static readonly CUSTOMER_CREATE = ['email', 'name', 'description', 'phone', 'metadata', 'expand'];
  private static readonly CUSTOMER_UPDATE = ['email', 'name', 'metadata', 'expand'];

  private createCustomerApi(ctx: ReqCtx, params: Obj): Obj {
    known(params, FakeStripe.CUSTOMER_CREATE);
    const email = optStr(params, 'email');
    checkEmail(email);
    const obj = ctx.book.insertCustomer({
      email: email || null, name: optStr(params, 'name') || null, description: optStr(params, 'description') || null,
      phone: optStr(params, 'phone') || null, metadata: applyMetadata({}, params.metadata),
    });
    ctx.book.emit('customer.created', obj, undefined, this.reqInfo(ctx));
    return this.out(ctx, obj, params);
  }

  private reqInfo(ctx: ReqCtx): { id: string; idempotency_key: string | null } {
    return { id: ctx.requestId, idempotency_key: ctx.idempotencyKey };
  }

  private updateCustomerApi(ctx: ReqCtx, params: Obj, id: string): Obj {
    known(params, FakeStripe.CUSTOMER_UPDATE);
    const c = this.find(ctx, 'customer', id);
    if (c.deleted) throw this.notFoundDeleted('customer', id);
    const email = optStr(params, 'email');
    checkEmail(email);
    const name = optStr(params, 'name');
    const metadata = applyMetadata(c.metadata, params.metadata);
    const before = clone(c);
    if (email !== undefined) c.email = email || null;
    if (name !== undefined) c.name = name || null;
    c.metadata = metadata;
    if (previousAttributes(before, c)) ctx.book.emit('customer.updated', c, before, this.reqInfo(ctx));
    return this.out(ctx, c, params);
  }

  private notFoundDeleted(kind: Kind, id: string): StripeApiError {
    return invalid(`No such ${NOUN[kind]}: '${id}'`, 'id', 'resource_missing', 404);
  }

  private deleteCustomerApi(ctx: ReqCtx, params: Obj, id: string): Obj {
    known(params, []);
    const c = this.find(ctx, 'customer', id);
    if (c.deleted) throw this.notFoundDeleted('customer', id);
    ctx.book.deleteCustomer(id);
    return { id, object: 'customer', deleted: true };
  }

  // products & prices

  private listProducts(ctx: ReqCtx, params: Obj): Obj {
    known(params, [...FakeStripe.PAGE, 'active', 'created', 'ids', 'shippable', 'url']);
    const active = optBool(params, 'active');
    const created = optRange(params, 'created');
    const ids = params.ids === undefined ? undefined : new Set(asArray(params.ids, 'ids') as string[]);
    optBool(params, 'shippable');
    const page = this.pageParams(ctx, params, 'product');
    const pred = (o: Obj) => !o.deleted && (active === undefined || o.active === active) && inRange(o.created, created) && (!ids || ids.has(o.id));
    return this.listResponse(ctx, params, '/v1/products', paginate(ctx.book.products.sorted, pred, page));
  }

  private createProductApi(ctx: ReqCtx, params: Obj): Obj {
    known(params, ['name', 'active', 'description', 'metadata', 'expand']);
    const name = optStr(params, 'name');
    if (!name) throw missingParam('name');
    const obj = ctx.book.insertProduct({
      name, active: optBool(params, 'active'), description: optStr(params, 'description') || null,
      metadata: applyMetadata({}, params.metadata),
    });
    ctx.book.emit('product.created', obj, undefined, this.reqInfo(ctx));
    return this.out(ctx, obj, params);
  }

  private updateProductApi(ctx: ReqCtx, params: Obj, id: string): Obj {
    known(params, ['name', 'active', 'description', 'metadata', 'expand']);
    const p = this.find(ctx, 'product', id);
    const before = clone(p);
    const name = optStr(params, 'name');
    if (name === '') throw invalid('You passed an empty string for \'name\'. We assume empty values are an attempt to unset a parameter; however \'name\' cannot be unset. You should remove \'name\' from your request or supply a non-empty value.', 'name');
    const active = optBool(params, 'active');
    const description = optStr(params, 'description');
    const metadata = applyMetadata(p.metadata, params.metadata);
    if (name !== undefined) p.name = name;
    if (active !== undefined) p.active = active;
    if (description !== undefined) p.description = description || null;
    p.metadata = metadata;
    p.updated = this.now();
    ctx.book.emit('product.updated', p, before, this.reqInfo(ctx));
    return this.out(ctx, p, params);
  }

  private deleteProductApi(ctx: ReqCtx, params: Obj, id: string): Obj {
    known(params, []);
    const p = this.find(ctx, 'product', id);
    if (p.deleted) throw this.notFoundDeleted('product', id);
    if (ctx.book.pricesOf(id).length) {
      throw invalid('This product cannot be deleted because it has one or more user-created prices.', undefined, 'product_has_prices');
    }
    p.deleted = true;
    ctx.book.emit('product.deleted', p, undefined, this.reqInfo(ctx));
    return { id, object: 'product', deleted: true };
  }

  private listPrices(ctx: ReqCtx, params: Obj): Obj {
    known(params, [...FakeStripe.PAGE, 'active', 'created', 'currency', 'lookup_keys', 'product', 'recurring', 'type']);
    const active = optBool(params, 'active');
    const created = optRange(params, 'created');
    const currency = optStr(params, 'currency');
    const product = optStr(params, 'product');
    const type = optEnum(params, 'type', ['one_time', 'recurring'] as const);
    let interval: Interval | undefined;
    if (params.recurring !== undefined) {
      const rec = asHash(params.recurring, 'recurring');
      known(rec, ['interval', 'meter', 'usage_type'], 'recurring');
      interval = optEnum(rec, 'interval', INTERVALS, 'recurring[interval]');
    }
    let lookup: Set<string> | undefined;
    if (params.lookup_keys !== undefined) {
      const keys = asArray(params.lookup_keys, 'lookup_keys') as string[];
      if (keys.length > 10) throw invalid('You may pass at most 10 lookup keys.', 'lookup_keys');
      lookup = new Set(keys);
    }
    const page = this.pageParams(ctx, params, 'price');
    const pred = (o: Obj) =>
      (active === undefined || o.active === active) && inRange(o.created, created) &&
      (currency === undefined || o.currency === currency.toLowerCase()) && (product === undefined || o.product === product) &&
      (type === undefined || o.type === type) && (interval === undefined || o.recurring?.interval === interval) &&
      (!lookup || lookup.has(o.lookup_key));
    let cands = ctx.book.prices.sorted;
    if (product !== undefined) cands = ctx.book.pricesOf(product);
    else if (lookup) cands = [...lookup].map((k) => ctx.book.priceIdForLookupKey(k)).filter((x): x is string => !!x).map((i) => ctx.book.prices.byId.get(i)!).sort((a, b) => cmpKey(a, b.created, b.seq));
    return this.listResponse(ctx, params, '/v1/prices', paginate(cands, pred, page));
  }

  private createPriceApi(ctx: ReqCtx, params: Obj): Obj {
    known(params, ['currency', 'unit_amount', 'product', 'product_data', 'recurring', 'lookup_key', 'transfer_lookup_key', 'nickname', 'active', 'metadata', 'expand']);
    const currency = optStr(params, 'currency');
    if (!currency) throw missingParam('currency');
    const unit = optInt(params, 'unit_amount', 'unit_amount', 0);
    if (unit === undefined) throw missingParam('unit_amount');
    let product = optStr(params, 'product');
    if (product === undefined && params.product_data === undefined) throw missingParam('product');
    if (product !== undefined) this.find(ctx, 'product', product, 'product');
    let recurring: CreatePriceInput['recurring'] = null;
    if (params.recurring !== undefined) {
      const rec = asHash(params.recurring, 'recurring');
      known(rec, ['interval', 'interval_count', 'usage_type'], 'recurring');
      const interval = optEnum(rec, 'interval', INTERVALS, 'recurring[interval]');
      if (!interval) throw missingParam('recurring[interval]');
      const count = optInt(rec, 'interval_count', 'recurring[interval_count]', 1) ?? 1;
      const maxCount = { day: 1095, week: 156, month: 36, year: 3 }[interval];
      if (count > maxCount) throw invalid(`The maximum billing interval is 3 years.`, 'recurring[interval_count]');
      recurring = { interval, interval_count: count };
    }
    const lookupKey = optStr(params, 'lookup_key');
    const transfer = optBool(params, 'transfer_lookup_key');
    if (lookupKey && transfer) {
      const old = ctx.book.priceIdForLookupKey(lookupKey);
      if (old) this.releaseLookupKey(ctx.book, old);
    }
    if (product === undefined) {
      const pd = asHash(params.product_data, 'product_data');
      known(pd, ['name', 'metadata', 'active'], 'product_data');
      const name = optStr(pd, 'name', 'product_data[name]');
      if (!name) throw missingParam('product_data[name]');
      product = ctx.book.insertProduct({ name }).id;
    }
    const obj = ctx.book.insertPrice({
      product: product!, unit_amount: unit, currency, recurring, lookup_key: lookupKey || null,
      nickname: optStr(params, 'nickname') || null, active: optBool(params, 'active'), metadata: applyMetadata({}, params.metadata),
    });
    ctx.book.emit('price.created', obj, undefined, this.reqInfo(ctx));
    return this.out(ctx, obj, params);
  }

  /** `transfer_lookup_key`: the previous holder loses the key (and Stripe emits price.updated for it). */
  private releaseLookupKey(book: FakeBook, priceId: string): void {
    const p = book.prices.get(priceId)!;
    const before = clone(p);
    book.setPriceLookupKey(p, null);
    book.emit('price.updated', p, before);
  }

  private updatePriceApi(ctx: ReqCtx, params: Obj, id: string): Obj {
    known(params, ['active', 'metadata', 'nickname', 'lookup_key', 'transfer_lookup_key', 'expand']);
    const p = this.find(ctx, 'price', id);
    const before = clone(p);
    const active = optBool(params, 'active');
    const nickname = optStr(params, 'nickname');
    const lookupKey = optStr(params, 'lookup_key');
    const transfer = optBool(params, 'transfer_lookup_key');
    const metadata = applyMetadata(p.metadata, params.metadata);
    if (lookupKey !== undefined && lookupKey !== p.lookup_key) {
      const holder = lookupKey ? ctx.book.priceIdForLookupKey(lookupKey) : undefined;
      if (holder && !transfer) throw invalid(`A price (\`${holder}\`) already uses that lookup key.`, 'lookup_key');
      if (holder) this.releaseLookupKey(ctx.book, holder);
      ctx.book.setPriceLookupKey(p, lookupKey || null);
    }
    if (active !== undefined) p.active = active;
    if (nickname !== undefined) p.nickname = nickname || null;
    p.metadata = metadata;
    ctx.book.emit('price.updated', p, before, this.reqInfo(ctx));
    return this.out(ctx, p, params);
  }

  // subscriptions

  private listSubscriptions(ctx: ReqCtx, params: Obj): Obj {
    known(params, [...FakeStripe.PAGE, 'automatic_tax', 'collection_method', 'created', 'current_period_end', 'current_period_start', 'customer', 'customer_account', 'price', 'status', 'test_clock']);
    const customer = optStr(params, 'customer');
    const price = optStr(params, 'price');
    const status = optEnum(params, 'status', [...SUB_STATUSES, 'ended', 'all'] as const);
    const collection = optEnum(params, 'collection_method', ['charge_automatically', 'send_invoice'] as const);
    const created = optRange(params, 'created');
    const cpe = optRange(params, 'current_period_end');
    const cps = optRange(params, 'current_period_start');
    optStr(params, 'test_clock');
    optStr(params, 'customer_account');
    if (params.automatic_tax !== undefined) known(asHash(params.automatic_tax, 'automatic_tax'), ['enabled'], 'automatic_tax');
    const page = this.pageParams(ctx, params, 'subscription');
    const statusOk = (s: string) =>
      status === 'all' ? true
        : status === 'ended' ? s === 'canceled' || s === 'incomplete_expired'
          : status === undefined ? s !== 'canceled' : s === status;
    const pred = (o: Obj) =>
      statusOk(o.status) && (customer === undefined || o.customer === customer) &&
      (price === undefined || o.items.data.some((it: Obj) => it.price === price)) &&
      (collection === undefined || o.collection_method === collection) && inRange(o.created, created) &&
      inRange(o.items.data[0]?.current_period_end, cpe) && inRange(o.items.data[0]?.current_period_start, cps);
    const cands = customer !== undefined ? ctx.book.subscriptionsOf(customer)
      : price !== undefined ? ctx.book.subscriptionsWithPrice(price) : ctx.book.subscriptions.sorted;
    return this.listResponse(ctx, params, '/v1/subscriptions', paginate(cands, pred, page));
  }

  private parseItems(ctx: ReqCtx, params: Obj): { price: string; quantity?: number }[] {
    return asArray(params.items, 'items').map((raw, i) => {
      const it = asHash(raw, `items[${i}]`);
      known(it, ['price', 'quantity', 'metadata'], `items[${i}]`);
      const price = optStr(it, 'price', `items[${i}][price]`);
      if (!price) throw missingParam(`items[${i}][price]`);
      const p = this.find(ctx, 'price', price, `items[${i}][price]`);
      if (!p.recurring) {
        throw invalid('The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.', `items[${i}][price]`);
      }
      if (!p.active) throw invalid(`The price specified is inactive. This field only accepts active prices.`, `items[${i}][price]`);
      return { price, quantity: optInt(it, 'quantity', `items[${i}][quantity]`, 0) };
    });
  }

  private createSubscriptionApi(ctx: ReqCtx, params: Obj): Obj {
    known(params, ['customer', 'items', 'metadata', 'trial_period_days', 'collection_method', 'days_until_due', 'cancel_at_period_end', 'discounts', 'payment_behavior', 'expand']);
    const customer = optStr(params, 'customer');
    if (!customer) throw missingParam('customer');
    const c = this.find(ctx, 'customer', customer, 'customer');
    if (c.deleted) throw invalid(`No such customer: '${customer}'`, 'customer', 'resource_missing', 404);
    if (params.items === undefined) throw missingParam('items');
    const items = this.parseItems(ctx, params);
    if (!items.length) throw missingParam('items');
    const prices = items.map((it) => ctx.book.prices.get(it.price)!);
    if (prices.some((p) => p.currency !== prices[0]!.currency)) throw invalid('Currency of all prices must match.', 'items');
    const trialDays = optInt(params, 'trial_period_days', 'trial_period_days', 0, 730);
    const collection = optEnum(params, 'collection_method', ['charge_automatically', 'send_invoice'] as const);
    const dud = optInt(params, 'days_until_due', 'days_until_due', 0);
    if (dud !== undefined && collection !== 'send_invoice') throw invalid('`days_until_due` can only be set when `collection_method=send_invoice`.', 'days_until_due');
    optEnum(params, 'payment_behavior', ['allow_incomplete', 'default_incomplete', 'error_if_incomplete', 'pending_if_incomplete'] as const);
    const coupons = params.discounts === undefined ? [] : asArray(params.discounts, 'discounts').map((d, i) => {
      const h = asHash(d, `discounts[${i}]`);
      known(h, ['coupon'], `discounts[${i}]`);
      const coupon = optStr(h, 'coupon', `discounts[${i}][coupon]`)!;
      this.find(ctx, 'coupon', coupon, `discounts[${i}][coupon]`);
      return coupon;
    });
    const now = this.now();
    const trialing = !!trialDays;
    // No payment methods exist in the fake, so automatic collection leaves the first invoice
    // open and the subscription incomplete, as Stripe does with payment_behavior=allow_incomplete.
    const status: SubscriptionStatus = trialing ? 'trialing' : collection === 'send_invoice' ? 'active' : 'incomplete';
    const sub = ctx.book.insertSubscription({
      customer, items, status, coupons, metadata: applyMetadata({}, params.metadata), collection_method: collection,
      days_until_due: dud, cancel_at_period_end: optBool(params, 'cancel_at_period_end'),
      current_period_end: trialing ? now + trialDays! * 86400 : undefined, trial_end: trialing ? now + trialDays! * 86400 : null,
    });
    const inv = ctx.book.insertInvoice({
      customer, subscription: sub.id, status: trialing ? 'paid' : 'open', billing_reason: 'subscription_create',
      amount_due: trialing ? 0 : undefined,
    });
    const req = this.reqInfo(ctx);
    ctx.book.emit('customer.subscription.created', sub, undefined, req);
    ctx.book.emit('invoice.created', inv, undefined, req);
    ctx.book.emit('invoice.finalized', inv, undefined, req);
    if (inv.status === 'paid') ctx.book.emit('invoice.paid', inv, undefined, req);
    return this.out(ctx, sub, params);
  }

  private updateSubscriptionApi(ctx: ReqCtx, params: Obj, id: string): Obj {
    known(params, ['metadata', 'cancel_at_period_end', 'description', 'expand']);
    const s = this.find(ctx, 'subscription', id);
    if (s.status === 'canceled' || s.status === 'incomplete_expired') {
      const onlyMeta = Object.keys(params).every((k) => k === 'metadata' || k === 'expand');
      if (!onlyMeta) throw invalid('A canceled subscription can only update its cancellation_details and metadata.', undefined);
    }
    const cape = optBool(params, 'cancel_at_period_end');
    const description = optStr(params, 'description');
    const metadata = applyMetadata(s.metadata, params.metadata);
    const before = clone(s);
    s.metadata = metadata;
    if (description !== undefined) s.description = description || null;
    if (cape !== undefined) {
      s.cancel_at_period_end = cape;
      s.cancel_at = cape ? s.items.data[0].current_period_end : null;
      s.canceled_at = cape ? this.now() : null;
    }
    ctx.book.emit('customer.subscription.updated', s, before, this.reqInfo(ctx));
    return this.out(ctx, s, params);
  }

  private cancelSubscriptionApi(ctx: ReqCtx, params: Obj, id: string): Obj {
    known(params, ['invoice_now', 'prorate', 'cancellation_details', 'expand']);
    optBool(params, 'invoice_now');
    optBool(params, 'prorate');
    const s = this.find(ctx, 'subscription', id);
    if (s.status === 'canceled' || s.status === 'incomplete_expired') {
      throw invalid(`This subscription has already been canceled.`, undefined, 'resource_missing' as string, 404);
    }
    ctx.book.cancelSubscription(id);
    return this.out(ctx, s, params);
  }

  // invoices

  private listInvoices(ctx: ReqCtx, params: Obj): Obj {
    known(params, [...FakeStripe.PAGE, 'collection_method', 'created', 'customer', 'customer_account', 'due_date', 'status', 'subscription']);
    const customer = optStr(params, 'customer');
    const subscription = optStr(params, 'subscription');
    const status = optEnum(params, 'status', INVOICE_STATUSES);
    const collection = optEnum(params, 'collection_method', ['charge_automatically', 'send_invoice'] as const);
    const created = optRange(params, 'created');
    const due = optRange(params, 'due_date');
    optStr(params, 'customer_account');
    const page = this.pageParams(ctx, params, 'invoice');
    const pred = (o: Obj) =>
      (customer === undefined || o.customer === customer) &&
      (subscription === undefined || o.parent?.subscription_details?.subscription === subscription) &&
      (status === undefined || o.status === status) && (collection === undefined || o.collection_method === collection) &&
      inRange(o.created, created) && (due === undefined || inRange(o.due_date, due));
    const cands = subscription !== undefined ? ctx.book.invoicesOfSubscription(subscription)
      : customer !== undefined ? ctx.book.invoicesOf(customer) : ctx.book.invoices.sorted;
    return this.listResponse(ctx, params, '/v1/invoices', paginate(cands, pred, page));
  }

  private createInvoiceApi(ctx: ReqCtx, params: Obj): Obj {
    known(params, ['customer', 'subscription', 'auto_advance', 'collection_method', 'days_until_due', 'due_date', 'description', 'metadata', 'currency', 'expand']);
    const customer = optStr(params, 'customer');
    if (!customer) throw missingParam('customer');
    const c = this.find(ctx, 'customer', customer, 'customer');
    if (c.deleted) throw invalid(`No such customer: '${customer}'`, 'customer', 'resource_missing', 404);
    const subscription = optStr(params, 'subscription');
    if (subscription) this.find(ctx, 'subscription', subscription, 'subscription');
    const collection = optEnum(params, 'collection_method', ['charge_automatically', 'send_invoice'] as const);
    const dud = optInt(params, 'days_until_due', 'days_until_due', 0);
    const due = optInt(params, 'due_date', 'due_date');
    if ((dud !== undefined || due !== undefined) && collection !== 'send_invoice') {
      throw invalid('Invoices with `collection_method=charge_automatically` cannot have a due date.', dud !== undefined ? 'days_until_due' : 'due_date');
    }
    const now = this.now();
    const inv = ctx.book.insertInvoice({
      customer, subscription: subscription ?? null, status: 'draft', collection_method: collection, amount_due: 0,
      due_date: due ?? (dud !== undefined ? now + dud * 86400 : undefined), currency: optStr(params, 'currency'),
      metadata: applyMetadata({}, params.metadata),
    });
    const auto = optBool(params, 'auto_advance');
    if (auto !== undefined) inv.auto_advance = auto;
    const d = optStr(params, 'description');
    if (d !== undefined) inv.description = d || null;
    ctx.book.emit('invoice.created', inv, undefined, this.reqInfo(ctx));
    return this.out(ctx, inv, params);
  }

  private invoiceActionApi(ctx: ReqCtx, params: Obj, id: string, action: string): Obj {
    const inv = this.find(ctx, 'invoice', id);
    if (action === 'pay') {
      known(params, ['paid_out_of_band', 'payment_method', 'source', 'forgive', 'off_session', 'expand']);
      const oob = optBool(params, 'paid_out_of_band');
      if (inv.status === 'paid') throw invalid('Invoice is already paid', undefined, 'invoice_already_paid');
      if (inv.status === 'void') throw invalid('This invoice has been voided and can no longer be paid.', undefined, 'invoice_not_open');
      if (!oob) {
        // The fake keeps no payment methods, so an actual charge attempt can only fail.
        throw invalid('This customer has no attached payment source or default payment method. Please consider adding a default payment method. For more information, visit https://docs.stripe.com/billing/subscriptions/payment-methods-setting#payment-method-priority.', undefined, 'invoice_no_payment_method_types');
      }
      ctx.book.payInvoice(id);
    } else if (action === 'finalize') {
      known(params, ['auto_advance', 'expand']);
      ctx.book.finalizeInvoice(id);
    } else if (action === 'void') {
      known(params, ['expand']);
      ctx.book.voidInvoice(id);
    } else {
      known(params, ['expand']);
      ctx.book.markUncollectible(id);
    }
    return this.out(ctx, inv, params);
  }

  // events

  private listEvents(ctx: ReqCtx, params: Obj): Obj {
    known(params, [...FakeStripe.PAGE, 'created', 'delivery_success', 'type', 'types']);
    const type = optStr(params, 'type');
    if (type !== undefined && params.types !== undefined) throw invalid('You may only specify one of these parameters: type, types.', 'types');
    let types: Set<string> | undefined;
    if (params.types !== undefined) {
      const arr = asArray(params.types, 'types') as string[];
      if (arr.length > 20) throw invalid('You may pass at most 20 event types.', 'types');
      types = new Set(arr);
    }
    optBool(params, 'delivery_success');
    const created = optRange(params, 'created');
    const page = this.pageParams(ctx, params, 'event');
    const oldest = this.now() - EVENT_RETENTION_SEC;
    const typeRe = type?.includes('*') ? new RegExp(`^${type.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`) : undefined;
    const pred = (o: Obj) =>
      o.created >= oldest && inRange(o.created, created) &&
      (type === undefined || (typeRe ? typeRe.test(o.type) : o.type === type)) && (!types || types.has(o.type));
    return this.listResponse(ctx, params, '/v1/events', paginate(ctx.book.events.sorted, pred, page));
  }

  // payments (writes Pivotal must never make; modelled so a stray call fails realistically)

  private createPaymentIntentApi(ctx: ReqCtx, params: Obj): Obj {
    known(params, ['amount', 'currency', 'customer', 'description', 'metadata', 'payment_method_types', 'confirm', 'expand']);
    const amount = optInt(params, 'amount', 'amount', 50);
    if (amount === undefined) throw missingParam('amount');
    const currency = optStr(params, 'currency');
    if (!currency) throw missingParam('currency');
    const customer = optStr(params, 'customer');
    if (customer) this.find(ctx, 'customer', customer, 'customer');
    if (optBool(params, 'confirm')) throw invalid('You must provide a `payment_method` when confirming a PaymentIntent.', 'payment_method', 'payment_intent_unexpected_state');
    const pi: Obj = {
      id: rid('pi_'), object: 'payment_intent', amount, amount_capturable: 0, amount_received: 0,
      capture_method: 'automatic_async', client_secret: `${rid('pi_')}_secret_${rid('', 24)}`,
      confirmation_method: 'automatic', created: this.now(), currency: currency.toLowerCase(), customer: customer ?? null,
      description: optStr(params, 'description') ?? null, latest_charge: null, livemode: ctx.book.livemode,
      metadata: applyMetadata({}, params.metadata), payment_method: null, payment_method_types: ['card'], status: 'requires_payment_method',
    };
    ctx.book.paymentIntents.insert(pi);
    ctx.book.emit('payment_intent.created', pi, undefined, this.reqInfo(ctx));
    return this.out(ctx, pi, params);
  }

  private createRefundApi(ctx: ReqCtx, params: Obj): Obj {
    known(params, ['charge', 'payment_intent', 'amount', 'reason', 'metadata', 'expand']);
    optInt(params, 'amount', 'amount', 1);
    optEnum(params, 'reason', ['duplicate', 'fraudulent', 'requested_by_customer'] as const);
    const pi = optStr(params, 'payment_intent');
    const ch = optStr(params, 'charge');
    if (!pi && !ch) throw invalid('One of the following params should be provided for this request: payment_intent or charge.', undefined, 'parameter_missing');
    if (ch) throw invalid(`No such charge: '${ch}'`, 'charge', 'resource_missing', 404);
    const intent = this.find(ctx, 'payment_intent', pi!, 'payment_intent');
    throw invalid(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, 'payment_intent', 'charge_not_refundable');
  }
}

/** Starts the fake on 127.0.0.1 with an OS-assigned port. */
export async function startFakeStripe(opts: FakeStripeOptions = {}): Promise<FakeStripe> {
  // The handler closes over a holder because the fake needs the bound port to be built.
  const holder: { fake?: FakeStripe } = {};
  const server = http.createServer((req, res) => {
    holder.fake!.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: String(err) } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  holder.fake = new FakeStripe(server, (server.address() as AddressInfo).port, opts);
  return holder.fake;
}
