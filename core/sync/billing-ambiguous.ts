// Resolving an ambiguous billing match: the admin either names the Stripe customer that
// wins the domain (the others stop counting) or splits the Pivotal customer so every
// Stripe customer bills onto its own one. The decision is stored on the AmbiguousMatch and
// core/billing/apply.ts honours it on every later sync; billing is recomputed right away.
import { Types } from 'mongoose';
import { AmbiguousMatch } from '../models/sync.ts';
import { Customer } from '../models/customer.ts';
import { Connection } from '../models/connection.ts';
import { AppError, isAppError } from '../errors.ts';
import { createCustomers, type NewCustomer } from '../customers/customers.ts';
import { emitDomainEvents } from '../events/emit.ts';
import { syncStripeCustomers } from './billing-run.ts';
import { stripeDashboardUrl } from '../customers/view.ts';
import { ConnectorError } from '../connectors/connector.ts';
import { log } from '../log.ts';
import { settleAmbiguousMatch } from './ambiguous-matches.ts';
import { mayReadCustomer, type Viewer } from '../auth/permissions.ts';

export type AmbiguityResolution = { id: string; winner: string } | { id: string; split: true };

/** What the portal shows of one open ambiguity: the customer whose MRR is merged, and who pays. */
export interface AmbiguityView {
  id: string;
  domain: string;
  mode: 'live' | 'test' | null;
  customer: { id: string; display_id: number; name: string } | null;
  merged_mrr: number;
  candidates: { stripe_customer_id: string; name: string | null; email: string | null; mrr: number; dashboard_url: string | null }[];
}

/**
 * Every open ambiguity of a workspace's connected (not disconnected) Stripe connections, by
 * domain; a member (viewer) sees only those of customers they own.
 */
export async function workspaceAmbiguities(workspaceId: string, viewer?: Viewer): Promise<AmbiguityView[]> {
  const wsId = new Types.ObjectId(workspaceId);
  const conns = new Map(
    (await Connection.find({ workspace_id: wsId, provider: 'stripe', state: { $ne: 'disconnected' } }, { mode: 1 }).lean()).map((c) => [String(c._id), c.mode ?? null]),
  );
  if (!conns.size) return [];
  const matches = await AmbiguousMatch.find({ workspace_id: wsId, status: 'open' }).sort({ domain: 1 }).lean();
  if (!matches.length) return [];
  const customerIds = [...new Set(matches.map((m) => (m.customer_id ? String(m.customer_id) : null)).filter((x): x is string => !!x))];
  const customers = new Map(
    (await Customer.find({ _id: { $in: customerIds.map((id) => new Types.ObjectId(id)) } }, { name: 1, display_id: 1, owner_email: 1 }).lean()).map((c) => [String(c._id), c]),
  );
  return matches
    .filter((m) => conns.has(String(m.connection_id)))
    .filter((m) => !viewer || mayReadCustomer(viewer, m.customer_id ? customers.get(String(m.customer_id)) : null))
    .map((m) => {
      const mode = (conns.get(String(m.connection_id)) ?? null) as AmbiguityView['mode'];
      const c = m.customer_id ? customers.get(String(m.customer_id)) : undefined;
      const candidates = ((m.candidates as AmbiguityView['candidates']) ?? []).map((x) => ({
        stripe_customer_id: x.stripe_customer_id,
        name: x.name ?? null,
        email: x.email ?? null,
        mrr: Number(x.mrr ?? 0),
        dashboard_url: stripeDashboardUrl(x.stripe_customer_id, mode === null ? null : mode === 'live'),
      })).sort((a, b) => b.mrr - a.mrr || a.stripe_customer_id.localeCompare(b.stripe_customer_id));
      return {
        id: String(m._id),
        domain: m.domain,
        mode,
        customer: c ? { id: String(c._id), display_id: c.display_id, name: c.name } : null,
        merged_mrr: candidates.reduce((sum, x) => sum + x.mrr, 0),
        candidates,
      };
    });
}

/**
 * Resolves one ambiguity for a signed-in admin: the match must belong to their workspace.
 * The decision is saved first; if Stripe cannot be reached to recompute billing right
 * away, the answer says so and the next sync applies it.
 */
export async function resolveWorkspaceAmbiguity(workspaceId: string, input: AmbiguityResolution): Promise<{ domain: string; recomputed: boolean; message: string }> {
  if (!Types.ObjectId.isValid(input.id)) throw new AppError('bad_input', `"${input.id}" is not an ambiguous match id`);
  const amb = await AmbiguousMatch.findById(input.id, { workspace_id: 1, domain: 1, status: 1 }).lean();
  if (!amb || String(amb.workspace_id) !== workspaceId) throw new AppError('not_found', 'This ambiguous match does not exist in your workspace');
  if (amb.status !== 'open') throw new AppError('conflict', `${amb.domain} was already settled`);
  try {
    await resolveAmbiguousMatch(input);
    return { domain: amb.domain, recomputed: true, message: resolvedMessage(amb.domain, input) };
  } catch (e) {
    // Someone else's decision won the race: theirs stands, and this one is refused.
    if (isAppError(e) && (e.code === 'conflict' || e.code === 'bad_input' || e.code === 'not_found')) throw e;
    const saved = await AmbiguousMatch.findById(input.id, { status: 1 }).lean();
    if (saved?.status !== 'resolved') throw e;
    log.warn({ err: e, match_id: input.id }, 'ambiguity saved; billing recompute failed');
    const why = isAppError(e) || e instanceof ConnectorError ? e.message : 'Stripe could not be reached';
    return { domain: amb.domain, recomputed: false, message: `${resolvedMessage(amb.domain, input)} Billing could not be recomputed now (${why}); the next sync applies it.` };
  }
}

function resolvedMessage(domain: string, input: AmbiguityResolution): string {
  return 'winner' in input ? `${domain}: billing now comes from ${input.winner} only.` : `${domain}: each Stripe customer now bills onto its own Pivotal customer.`;
}

/**
 * Settles one ambiguity. Exactly one decision wins however many arrive at once: the match
 * moves from open to resolved in a single conditional update, and only the request that
 * made that move goes on to create the split's customers (whose ids it chose up front);
 * every other request is told the domain was already settled.
 */
export async function resolveAmbiguousMatch(input: AmbiguityResolution) {
  if (!Types.ObjectId.isValid(input.id)) throw new AppError('bad_input', `"${input.id}" is not an ambiguous match id`);
  const amb = await AmbiguousMatch.findById(input.id).lean();
  if (!amb) throw new AppError('not_found', `No ambiguous match with id ${input.id}`);
  if (amb.status !== 'open') throw new AppError('conflict', `${amb.domain} was already settled`);
  const candidates = (amb.candidates as { stripe_customer_id: string; name?: string | null; email?: string | null; mrr?: number }[]) ?? [];
  const ids = candidates.map((c) => c.stripe_customer_id);
  const conn = await Connection.findById(amb.connection_id);
  if (!conn) throw new AppError('not_found', 'The connection of this match no longer exists');
  const resolvedAt = new Date();
  let resolution: Record<string, unknown>;
  let newCustomers: NewCustomer[] = [];
  if ('winner' in input) {
    if (!ids.includes(input.winner)) throw new AppError('bad_input', `${input.winner} is not one of this match's Stripe customers (${ids.join(', ')})`);
    resolution = { winner: input.winner, resolved_at: resolvedAt };
  } else {
    const original = amb.customer_id ? await Customer.findById(amb.customer_id).lean() : null;
    if (!original) throw new AppError('not_found', 'The Pivotal customer of this match no longer exists');
    // The biggest payer stays on the original customer; every other one gets its own.
    const [keep, ...others] = [...candidates].sort((a, b) => (b.mrr ?? 0) - (a.mrr ?? 0));
    newCustomers = others.map((c) => ({
      _id: new Types.ObjectId(),
      name: c.name || `${original.name} (${c.email ?? c.stripe_customer_id})`,
      domain: original.domain,
      owner_email: original.owner_email ?? null,
      owner_member_id: original.owner_member_id ?? null,
    }));
    const assignments: Record<string, string> = { [keep!.stripe_customer_id]: String(original._id) };
    others.forEach((c, i) => (assignments[c.stripe_customer_id] = String(newCustomers[i]!._id)));
    resolution = { split: true, assignments, resolved_at: resolvedAt };
  }
  const won = await settleAmbiguousMatch(amb._id, resolution);
  if (!won) throw new AppError('conflict', `${amb.domain} was already settled`);
  if (newCustomers.length) {
    try {
      await createCustomers(amb.workspace_id, newCustomers);
    } catch (e) {
      // Nothing half-decided: reopen the match so the admin can decide again.
      await AmbiguousMatch.updateOne({ _id: amb._id, status: 'resolved', 'resolution.resolved_at': resolvedAt }, { $set: { status: 'open', resolution: null } });
      throw e;
    }
  }
  // Created by an admin's decision, never by a first sync: each new customer is announced.
  await emitDomainEvents(
    newCustomers.map((c) => ({ workspaceId: amb.workspace_id, customerId: c._id as Types.ObjectId, type: 'customer.created' as const, dedupeKey: `customer:${String(c._id)}:created`, data: { split_of: String(amb.customer_id) }, actor: 'user' })),
  );
  await syncStripeCustomers(conn, ids, 'user');
  return AmbiguousMatch.findById(amb._id).lean();
}
