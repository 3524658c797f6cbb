// Resolving an ambiguous billing match: the admin either names the Stripe customer that
// wins the domain (the others stop counting) or splits the Pivotal customer so every
// Stripe customer bills onto its own one. The decision is stored on the AmbiguousMatch and
// core/billing/apply.ts honours it on every later sync; billing is recomputed right away.
import { Types } from 'mongoose';
import { AmbiguousMatch } from '../models/sync.ts';
import { Customer } from '../models/customer.ts';
import { Connection } from '../models/connection.ts';
import { AppError } from '../errors.ts';
import { createCustomers } from '../customers/customers.ts';
import { syncStripeCustomers } from '../connectors/stripe/billing-sync.ts';

export type AmbiguityResolution = { id: string; winner: string } | { id: string; split: true };

export async function listAmbiguousMatches(connectionId: string, status: 'open' | 'resolved' | 'all' = 'open') {
  const q: Record<string, unknown> = { connection_id: new Types.ObjectId(connectionId) };
  if (status !== 'all') q.status = status;
  return AmbiguousMatch.find(q).sort({ domain: 1 }).lean();
}

export async function resolveAmbiguousMatch(input: AmbiguityResolution) {
  if (!Types.ObjectId.isValid(input.id)) throw new AppError('bad_input', `"${input.id}" is not an ambiguous match id`);
  const amb = await AmbiguousMatch.findById(input.id);
  if (!amb) throw new AppError('not_found', `No ambiguous match with id ${input.id}`);
  const candidates = (amb.candidates as { stripe_customer_id: string; name?: string | null; email?: string | null; mrr?: number }[]) ?? [];
  const ids = candidates.map((c) => c.stripe_customer_id);
  const conn = await Connection.findById(amb.connection_id);
  if (!conn) throw new AppError('not_found', 'The connection of this match no longer exists');
  let resolution: Record<string, unknown>;
  if ('winner' in input) {
    if (!ids.includes(input.winner)) throw new AppError('bad_input', `${input.winner} is not one of this match's Stripe customers (${ids.join(', ')})`);
    resolution = { winner: input.winner, resolved_at: new Date() };
  } else {
    const original = amb.customer_id ? await Customer.findById(amb.customer_id).lean() : null;
    if (!original) throw new AppError('not_found', 'The Pivotal customer of this match no longer exists');
    // The biggest payer stays on the original customer; every other one gets its own.
    const [keep, ...others] = [...candidates].sort((a, b) => (b.mrr ?? 0) - (a.mrr ?? 0));
    const created = await createCustomers(
      amb.workspace_id,
      others.map((c) => ({ name: c.name || `${original.name} (${c.email ?? c.stripe_customer_id})`, domain: original.domain, owner_email: original.owner_email ?? null, owner_member_id: original.owner_member_id ?? null } as any)),
    );
    const assignments: Record<string, string> = { [keep!.stripe_customer_id]: String(original._id) };
    others.forEach((c, i) => (assignments[c.stripe_customer_id] = String(created[i]!._id)));
    resolution = { split: true, assignments, resolved_at: new Date() };
  }
  await AmbiguousMatch.updateOne({ _id: amb._id }, { $set: { status: 'resolved', resolution } });
  await syncStripeCustomers(conn, ids, 'user');
  return AmbiguousMatch.findById(amb._id).lean();
}
