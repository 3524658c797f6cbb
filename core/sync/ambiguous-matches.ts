// The store of ambiguous matches every source records (a domain several source records or
// Pivotal customers claim, so Pivotal does not guess): listing a connection's, and settling
// one exactly once. Stripe's billing decisions (core/sync/billing-ambiguous.ts) and CRM decisions
// (core/sync/crm-ambiguous.ts) both settle through here.
import { Types } from 'mongoose';
import { AmbiguousMatch } from '../models/sync.ts';

export async function listAmbiguousMatches(connectionId: string, status: 'open' | 'resolved' | 'all' = 'open') {
  const q: Record<string, unknown> = { connection_id: new Types.ObjectId(connectionId) };
  if (status !== 'all') q.status = status;
  return AmbiguousMatch.find(q).sort({ domain: 1 }).lean();
}

/**
 * Moves one match from open to resolved with its decision in a single conditional update,
 * so exactly one of several concurrent decisions wins; null when another already did.
 */
export async function settleAmbiguousMatch(id: Types.ObjectId, resolution: Record<string, unknown>) {
  return AmbiguousMatch.findOneAndUpdate({ _id: id, status: 'open' }, { $set: { status: 'resolved', resolution } }, { returnDocument: 'after' }).lean();
}
