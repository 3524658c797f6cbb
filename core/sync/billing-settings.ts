// What an admin sets on a Stripe connection (PRODUCT.md "Stripe billing fields"): which
// subscriptions count (all active, or chosen products and/or price lookup keys), whether
// personal email domains match, whether status is written back to Stripe-as-source
// customers, and the workspace's FX table. A change that alters billing queues a full
// walk so every customer's MRR follows at once, not at the nightly reconcile.
import { Types } from 'mongoose';
import { z } from 'zod';
import { Connection } from '../models/connection.ts';
import { Workspace } from '../models/workspace.ts';
import { AppError } from '../errors.ts';
import { ConnectorError } from '../connectors/connector.ts';
import { fxTable, workspaceFxRates, type FxSource } from '../billing/fx.ts';
import { scopeOf, stripeForConnection } from '../connectors/stripe/billing-reads.ts';
import { loadProductNames } from '../connectors/stripe/client.ts';
import { updateConnectionSettings } from './connections.ts';
import { queueSync } from './engine.ts';
import { problemsCsv, runSummary, type Counts } from './runs.ts';
import { SyncRun } from '../models/sync.ts';
import { stripeDashboardUrl } from '../customers/view.ts';
import { seesWholeWorkspace, type Viewer } from '../auth/permissions.ts';

export interface StripeSettingsView {
  connection: { id: string; role: 'customer_source' | 'billing_signal'; mode: 'live' | 'test' | null; state: string };
  scope: 'all' | 'chosen';
  products: string[];
  lookup_keys: string[];
  /** The account's products, for choosing; null when Stripe could not be reached (with why). */
  available_products: { id: string; name: string }[] | null;
  products_error: string | null;
  match_personal_emails: boolean;
  /** Status writeback to Stripe customer metadata; only a customer-source connection has it. */
  writeback: boolean | null;
  /** Rates in effect (USD value of one unit), and where each comes from. */
  fx: { currency: string; rate: number; source: FxSource }[];
  /** The newest walk of this connection (running or finished), with what it matched. */
  last_run: {
    kind: string;
    status: string;
    trigger: string;
    started_at: string | null;
    finished_at: string | null;
    message: string | null;
    progress: { done: number; total: number | null; phase: string | null };
    counts: Pick<Counts, 'matched' | 'unmatched' | 'skipped' | 'ambiguous' | 'updated' | 'unchanged' | 'errors'>;
  } | null;
  /** The newest validation or preview (its per-payer records only for owners and admins). */
  last_check: StripeCheckView | null;
}

const WALK_KINDS = ['full', 'reconcile', 'incremental'] as const;
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
/** The counts a billing run fills (created and archived belong to CRM walks). */
const billingCounts = ({ matched, unmatched, skipped, ambiguous, updated, unchanged, errors }: Counts) => ({ matched, unmatched, skipped, ambiguous, updated, unchanged, errors });
const CHECK_KINDS = ['validate', 'preview'] as const;
const SHOWN_PROBLEMS = 25;

export interface StripeCheckView {
  kind: 'validate' | 'preview';
  status: string;
  finished_at: string | null;
  counts: NonNullable<StripeSettingsView['last_run']>['counts'];
  /** the first problem records (all of them in the CSV) */
  problems: { record_id: string; problem: string; dashboard_url: string | null }[];
  problem_count: number;
  /** preview: what became of each of the first 10 Stripe customers */
  results: { stripe_customer_id: string; domain: string | null; outcome: string; dashboard_url: string | null }[];
  /** true when the viewer is a member: the records name payers of customers they may not own */
  records_hidden: boolean;
}

async function lastCheck(connectionId: Types.ObjectId, livemode: boolean, showRecords: boolean): Promise<StripeCheckView | null> {
  const run = await SyncRun.findOne({ connection_id: connectionId, kind: { $in: [...CHECK_KINDS] } }).sort({ createdAt: -1 }).lean();
  if (!run) return null;
  const r = runSummary(run);
  const link = (id: string) => stripeDashboardUrl(id, livemode);
  const problems = ((r.problems ?? []) as { record_id?: string; problem?: string }[]).map((p) => ({ record_id: String(p.record_id ?? ''), problem: String(p.problem ?? ''), dashboard_url: link(String(p.record_id ?? '')) }));
  const results = ((r.results ?? []) as { stripe_customer_id?: string; domain?: string | null; outcome?: string }[]).map((x) => ({
    stripe_customer_id: String(x.stripe_customer_id ?? ''), domain: x.domain ?? null, outcome: String(x.outcome ?? ''), dashboard_url: link(String(x.stripe_customer_id ?? '')),
  }));
  return {
    kind: r.kind as StripeCheckView['kind'], status: r.status, finished_at: iso(r.finished_at),
    counts: billingCounts(r.counts),
    problems: showRecords ? problems.slice(0, SHOWN_PROBLEMS) : [], problem_count: problems.length, results: r.kind === 'preview' && showRecords ? results : [],
    records_hidden: !showRecords,
  };
}

/** The last validation's problem records as CSV (object type, record id, name, match key, problem); owners and admins only. */
export async function stripeProblemsCsv(workspaceId: string, connectionId: string, viewer?: Viewer): Promise<string> {
  const conn = await stripeConnectionOf(workspaceId, connectionId);
  if (viewer && !seesWholeWorkspace(viewer)) throw new AppError('forbidden', 'Only workspace owners and admins can download the problem records');
  const run = await SyncRun.findOne({ connection_id: conn._id, kind: 'validate' }).sort({ createdAt: -1 }).lean();
  return problemsCsv(((run?.problems ?? []) as { object_type: string; record_id: string; problem: string }[]));
}

async function lastWalk(connectionId: Types.ObjectId): Promise<StripeSettingsView['last_run']> {
  const run = await SyncRun.findOne({ connection_id: connectionId, kind: { $in: [...WALK_KINDS] } }).sort({ createdAt: -1 }).lean();
  if (!run) return null;
  const r = runSummary(run);
  return { kind: r.kind, status: r.status, trigger: r.trigger, started_at: iso(r.started_at), finished_at: iso(r.finished_at), message: r.message, progress: r.progress, counts: billingCounts(r.counts) };
}

async function stripeConnectionOf(workspaceId: string, connectionId: string) {
  if (!Types.ObjectId.isValid(connectionId)) throw new AppError('not_found', 'No such Stripe connection in your workspace');
  const conn = await Connection.findById(connectionId);
  if (!conn || String(conn.workspace_id) !== workspaceId || conn.provider !== 'stripe' || conn.state === 'disconnected') {
    throw new AppError('not_found', 'No such Stripe connection in your workspace');
  }
  return conn;
}

export async function stripeSettingsView(workspaceId: string, connectionId: string, viewer?: Viewer): Promise<StripeSettingsView> {
  const conn = await stripeConnectionOf(workspaceId, connectionId);
  const ws = await Workspace.findById(conn.workspace_id, { settings: 1 }).lean();
  const scope = scopeOf(conn.settings);
  let available: StripeSettingsView['available_products'] = null;
  let productsError: string | null = null;
  try {
    // A page load, not a sync: one retry and a short timeout, so a Stripe outage shows as a note, fast.
    const names = await loadProductNames(stripeForConnection(conn as never, { maxNetworkRetries: 1, timeoutMs: 5_000 }));
    available = [...names].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  } catch (e) {
    productsError = e instanceof ConnectorError || e instanceof AppError ? e.message : 'Stripe could not be reached';
  }
  const fx = [...fxTable(workspaceFxRates(ws))].filter(([c]) => c !== 'usd').map(([currency, r]) => ({ currency, ...r }));
  return {
    connection: { id: String(conn._id), role: conn.role as StripeSettingsView['connection']['role'], mode: (conn.mode ?? null) as StripeSettingsView['connection']['mode'], state: conn.state },
    scope: scope.products?.length || scope.lookupKeys?.length ? 'chosen' : 'all',
    products: scope.products ?? [],
    lookup_keys: scope.lookupKeys ?? [],
    available_products: available,
    products_error: productsError,
    match_personal_emails: conn.settings?.match_personal_emails === true,
    writeback: conn.role === 'customer_source' ? conn.settings?.writeback === true : null,
    fx: fx.sort((a, b) => a.currency.localeCompare(b.currency)),
    last_run: await lastWalk(conn._id),
    last_check: await lastCheck(conn._id, conn.mode !== 'test', !viewer || seesWholeWorkspace(viewer)),
  };
}

const QUEUED: Record<'full' | 'validate' | 'preview', string> = {
  full: 'Full sync queued: the counts below follow it as it runs.',
  validate: 'Validation queued: it reads Stripe without writing, and lists the problem records below.',
  preview: 'Preview queued: the first 10 Stripe customers sync, and what became of each shows below.',
};

/** "Run sync now", "Validate", "Preview": queues that run of this connection (one pending of each kind). */
export async function queueStripeRun(workspaceId: string, connectionId: string, kind: 'full' | 'validate' | 'preview'): Promise<{ queued: boolean; message: string }> {
  const conn = await stripeConnectionOf(workspaceId, connectionId);
  if (conn.state !== 'connected') throw new AppError('conflict', 'Reconnect Stripe first: this connection cannot sync until it is reauthorized');
  await queueSync(connectionId, kind, 'portal');
  return { queued: true, message: QUEUED[kind] };
}

const CURRENCY = /^[a-z]{3}$/;

export const stripeSettingsInput = z
  .object({
    scope: z.enum(['all', 'chosen']),
    products: z.array(z.string().regex(/^prod_[A-Za-z0-9]+$/, 'Product ids look like prod_…')).max(500).default([]),
    lookup_keys: z.array(z.string().trim().min(1).max(200)).max(500).default([]),
    match_personal_emails: z.boolean(),
    writeback: z.boolean().optional(),
    /** Workspace FX overrides: currency → USD value of one unit. Replaces the workspace's table. */
    fx_rates_usd: z.record(z.string(), z.number().positive('FX rates must be positive').finite()).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.scope === 'chosen' && !v.products.length && !v.lookup_keys.length) {
      ctx.addIssue({ code: 'custom', message: 'Choose at least one product or price lookup key, or count all active subscriptions', path: ['scope'] });
    }
    const badCurrency = Object.keys(v.fx_rates_usd ?? {}).find((c) => !CURRENCY.test(c));
    if (badCurrency !== undefined) ctx.addIssue({ code: 'custom', message: `Currencies are three-letter ISO codes (eur, gbp, …), not "${badCurrency.slice(0, 20)}"`, path: ['fx_rates_usd'] });
    if (v.fx_rates_usd && 'usd' in v.fx_rates_usd && v.fx_rates_usd.usd !== 1) {
      ctx.addIssue({ code: 'custom', message: 'USD is always 1', path: ['fx_rates_usd'] });
    }
  });
export type StripeSettingsInput = z.input<typeof stripeSettingsInput>;

const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');

/**
 * Saves the settings; returns what changed and the connections whose full walk was queued
 * to apply it (scope, personal emails and FX change billing; writeback does not).
 */
export async function saveStripeSettings(workspaceId: string, connectionId: string, input: StripeSettingsInput): Promise<{ changed: string[]; resynced: string[] }> {
  const parsed = stripeSettingsInput.safeParse(input);
  if (!parsed.success) throw new AppError('bad_input', parsed.error.issues[0]!.message);
  const v = parsed.data;
  const conn = await stripeConnectionOf(workspaceId, connectionId);
  if (v.writeback !== undefined && conn.role !== 'customer_source') throw new AppError('bad_input', 'A billing-signal connection never writes to Stripe');
  const before = scopeOf(conn.settings);
  const products = v.scope === 'all' ? [] : [...new Set(v.products)];
  const lookupKeys = v.scope === 'all' ? [] : [...new Set(v.lookup_keys)];
  const changed: string[] = [];
  const patch: Record<string, unknown> = {};
  if (!sameSet(before.products ?? [], products) || !sameSet(before.lookupKeys ?? [], lookupKeys)) {
    changed.push('scope');
    patch.scope = { products, lookup_keys: lookupKeys };
  }
  if ((conn.settings?.match_personal_emails === true) !== v.match_personal_emails) {
    changed.push('match_personal_emails');
    patch.match_personal_emails = v.match_personal_emails;
  }
  if (v.writeback !== undefined && (conn.settings?.writeback === true) !== v.writeback) {
    changed.push('writeback');
    patch.writeback = v.writeback;
  }
  if (Object.keys(patch).length) await updateConnectionSettings(connectionId, patch);
  if (v.fx_rates_usd) {
    const next = Object.fromEntries(Object.entries(v.fx_rates_usd).filter(([c]) => c !== 'usd'));
    const current = workspaceFxRates(await Workspace.findById(conn.workspace_id, { settings: 1 }).lean());
    const same = sameSet(Object.keys(current), Object.keys(next)) && Object.entries(next).every(([c, r]) => current[c] === r);
    if (!same) {
      changed.push('fx_rates_usd');
      await Workspace.updateOne({ _id: conn.workspace_id }, { $set: { 'settings.fx_rates_usd': Object.keys(next).length ? next : null } });
    }
  }
  // FX is the workspace's: every connected Stripe connection re-walks; scope and personal
  // emails are this connection's. A walk already running is not restarted (the queue keeps
  // one pending run per connection); the nightly reconcile catches anything it read before.
  const targets = changed.includes('fx_rates_usd')
    ? (await Connection.find({ workspace_id: conn.workspace_id, provider: 'stripe', state: 'connected' }, { _id: 1 }).lean()).map((c) => String(c._id))
    : changed.some((c) => c !== 'writeback') && conn.state === 'connected'
      ? [connectionId]
      : [];
  for (const id of targets) await queueSync(id, 'full', 'settings');
  return { changed, resynced: targets };
}

/**
 * The portal form's fields as settings input. The FX table is typed as lines such as
 * "EUR = 1.08" (USD value of one unit); an empty table keeps only the built-in and
 * environment rates.
 */
export function stripeSettingsFromForm(form: { get(name: string): unknown; getAll(name: string): unknown[] }, opts: { hasWriteback: boolean }): StripeSettingsInput {
  const text = (name: string) => (typeof form.get(name) === 'string' ? (form.get(name) as string) : '');
  const fx: Record<string, number> = {};
  text('fx_rates_usd')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const m = /^([A-Za-z]{3})\s*[=:]\s*([0-9]*\.?[0-9]+)$/.exec(line);
      if (!m) throw new AppError('bad_input', `FX table line ${i + 1} ("${line.slice(0, 40)}"): write it as EUR = 1.08`);
      fx[m[1]!.toLowerCase()] = Number(m[2]);
    });
  return {
    scope: text('scope') === 'chosen' ? 'chosen' : 'all',
    products: form.getAll('products').filter((x): x is string => typeof x === 'string'),
    lookup_keys: text('lookup_keys')
      .split(/[,\n]/)
      .map((k) => k.trim())
      .filter(Boolean),
    match_personal_emails: form.get('match_personal_emails') === 'on',
    ...(opts.hasWriteback ? { writeback: form.get('writeback') === 'on' } : {}),
    fx_rates_usd: fx,
  };
}

/** The portal's save: form fields in, what changed out. */
export async function saveStripeSettingsForm(workspaceId: string, connectionId: string, form: FormData) {
  const conn = await stripeConnectionOf(workspaceId, connectionId);
  return saveStripeSettings(workspaceId, connectionId, stripeSettingsFromForm(form, { hasWriteback: conn.role === 'customer_source' }));
}
