// Ambiguous matches of CRM connections (HubSpot, Salesforce): a record whose domain matches
// several Pivotal customers on the first full sync, or a domain a second record of the same
// source claims. core/sync/apply.ts records them; an admin settles each one here (link the
// records to one candidate, create a new customer, or skip them) and apply.ts honours the
// decision on every later sync through decidedMatch. Stripe's billing ambiguities are
// settled on /billing instead (core/sync/billing-ambiguous.ts); both share the store in
// core/sync/ambiguous-matches.ts.
import { Types } from 'mongoose';
import { AmbiguousMatch } from '../models/sync.ts';
import { Customer } from '../models/customer.ts';
import { AppError } from '../errors.ts';
import { listAmbiguousMatches, settleAmbiguousMatch } from './ambiguous-matches.ts';

export type CrmChoice = { customer_id: string } | { create: true } | { skip: true };

export interface CrmRecordRef { external_id: string; name: string | null; url: string | null }

export interface CrmAmbiguityView {
  id: string;
  domain: string;
  status: 'open' | 'resolved';
  records: CrmRecordRef[];
  candidates: { id: string; display_id: number; name: string; status: string; owner_email: string | null; linked: boolean }[];
  /** a settled match: what the admin decided, in words */
  decision: string | null;
}

/** Stripe's matches hold Stripe customers (objects); a CRM's hold customer or record ids (strings). */
const isCrmMatch = (m: { candidates?: unknown }) => ((m.candidates as unknown[]) ?? []).every((c) => typeof c === 'string');

/** The Pivotal customers a match is between: several unlinked ones, or the one already linked to another record. */
function candidateIds(m: { customer_id?: unknown; candidates?: unknown }): string[] {
  if (m.customer_id) return [String(m.customer_id)];
  return ((m.candidates as string[]) ?? []).filter((id) => Types.ObjectId.isValid(id));
}

/** The source records of a match, one per id (the newest name wins). */
function recordsOf(m: { customer_id?: unknown; candidates?: unknown; records?: unknown }): CrmRecordRef[] {
  const refs = ((m.records as CrmRecordRef[]) ?? []).filter((r) => r && typeof r.external_id === 'string');
  // Older matches of a claimed domain kept only the records' ids, as candidates.
  if (!refs.length && m.customer_id) refs.push(...((m.candidates as string[]) ?? []).map((id) => ({ external_id: id, name: null, url: null })));
  return [...new Map(refs.map((r) => [r.external_id, { external_id: r.external_id, name: r.name ?? null, url: r.url ?? null }])).values()];
}

/** Every CRM ambiguity of a connection, open ones first, with its candidate customers. */
export async function crmAmbiguities(conn: { _id: Types.ObjectId; workspace_id: Types.ObjectId }): Promise<CrmAmbiguityView[]> {
  const matches = (await listAmbiguousMatches(String(conn._id), 'all')).filter(isCrmMatch);
  const ids = [...new Set(matches.flatMap(candidateIds))].map((id) => new Types.ObjectId(id));
  const customers = new Map(
    (ids.length ? await Customer.find({ _id: { $in: ids }, workspace_id: conn.workspace_id }, { name: 1, display_id: 1, status: 1, owner_email: 1, sources: 1 }).lean() : []).map((c) => [String(c._id), c]),
  );
  const views = matches.map((m) => {
    const candidates = candidateIds(m).flatMap((id) => {
      const c = customers.get(id);
      if (!c) return [];
      const linked = (c.sources ?? []).some((s) => String(s.connection_id) === String(conn._id));
      return [{ id, display_id: c.display_id, name: c.name, status: c.status, owner_email: c.owner_email ?? null, linked }];
    });
    const status = m.status === 'resolved' ? ('resolved' as const) : ('open' as const);
    return { id: String(m._id), domain: m.domain, status, records: recordsOf(m), candidates, decision: status === 'resolved' ? decisionText(m.resolution, customers) : null };
  });
  return views.sort((a, b) => (a.status === b.status ? 0 : a.status === 'open' ? -1 : 1));
}

function decisionText(resolution: unknown, customers: Map<string, { name: string; display_id: number }>): string {
  const r = (resolution ?? {}) as { customer_id?: unknown; create?: boolean; skip?: boolean };
  if (r.customer_id) {
    const c = customers.get(String(r.customer_id));
    return c ? `Link to ${c.name} (#${c.display_id})` : 'Link to a customer that no longer exists';
  }
  return r.create ? 'Create a new customer' : r.skip ? 'Skip these records' : 'Settled';
}

/** Open CRM ambiguities of a connection, for the count on its pages (Stripe's are counted on /billing). */
export async function openCrmAmbiguityCount(conn: { _id: Types.ObjectId; provider: string }): Promise<number> {
  return conn.provider === 'stripe' ? 0 : AmbiguousMatch.countDocuments({ connection_id: conn._id, status: 'open' });
}

/** The form's choice: "customer:<id>", "create" or "skip". */
export function parseCrmChoice(value: string): CrmChoice {
  if (value === 'create') return { create: true };
  if (value === 'skip') return { skip: true };
  const id = /^customer:([0-9a-f]{24})$/i.exec(value)?.[1];
  if (id) return { customer_id: id };
  throw new AppError('bad_input', 'Pick one of the customers, "Create a new customer" or "Skip these records"');
}

/**
 * Settles one open CRM ambiguity of this connection with the admin's choice; the next sync
 * applies it to every unlinked record of the domain. Returns what will happen, in words.
 */
export async function resolveCrmAmbiguity(conn: { _id: Types.ObjectId; workspace_id: Types.ObjectId }, matchId: string, choice: CrmChoice, by: string): Promise<string> {
  if (!Types.ObjectId.isValid(matchId)) throw new AppError('bad_input', `"${matchId}" is not an ambiguous match id`);
  const m = await AmbiguousMatch.findOne({ _id: new Types.ObjectId(matchId), connection_id: conn._id }).lean();
  if (!m || !isCrmMatch(m)) throw new AppError('not_found', 'This ambiguous match does not exist on this connection');
  if (m.status !== 'open') throw new AppError('conflict', `${m.domain} was already settled`);
  let target: { _id: Types.ObjectId; name: string; display_id: number } | null = null;
  if ('customer_id' in choice) {
    if (!candidateIds(m).includes(choice.customer_id)) throw new AppError('bad_input', `That customer is not one of the candidates for ${m.domain}`);
    target = await Customer.findOne({ _id: new Types.ObjectId(choice.customer_id), workspace_id: conn.workspace_id }, { name: 1, display_id: 1 }).lean();
    if (!target) throw new AppError('not_found', 'That customer no longer exists; pick another or create a new one');
  }
  const resolution = { ...('customer_id' in choice ? { customer_id: target!._id } : choice), resolved_at: new Date(), resolved_by: by };
  if (!(await settleAmbiguousMatch(m._id, resolution))) throw new AppError('conflict', `${m.domain} was already settled`);
  const names = recordsOf(m).map((r) => r.name || r.external_id).join(', ') || `the records of ${m.domain}`;
  if (target) return `${m.domain}: the next sync links ${names} to ${target.name} (#${target.display_id}).`;
  return 'create' in choice ? `${m.domain}: the next sync creates a new customer for ${names}.` : `${m.domain}: the next sync skips ${names}.`;
}

/** A settled domain as apply.ts uses it. */
export type CrmDecision = { link: string } | { create: true } | { skip: true };

/** The settled CRM decisions for these domains of a connection (one indexed query). */
export async function crmDecisions(connectionId: Types.ObjectId, domains: string[]): Promise<Map<string, CrmDecision>> {
  if (!domains.length) return new Map();
  const settled = await AmbiguousMatch.find({ connection_id: connectionId, domain: { $in: domains }, status: 'resolved' }, { domain: 1, resolution: 1 }).lean();
  const out = new Map<string, CrmDecision>();
  for (const m of settled) {
    const r = (m.resolution ?? {}) as { customer_id?: unknown; create?: boolean; skip?: boolean };
    if (r.customer_id) out.set(m.domain, { link: String(r.customer_id) });
    else if (r.create) out.set(m.domain, { create: true });
    else if (r.skip) out.set(m.domain, { skip: true });
  }
  return out;
}

/** Which count a record of a settled domain adds to in Validate. */
export const decisionCount = (d: CrmDecision) => ('skip' in d ? 'skipped' : 'create' in d ? 'unmatched' : 'matched') as 'skipped' | 'unmatched' | 'matched';

/**
 * How an unlinked record of a settled domain matches: 'skip', or the customers to treat as
 * free (the picked one; none to create a new one) and as already linked (none). Undefined
 * leaves the normal matching: no decision, or the picked customer is not among the hits
 * any more (deleted, or its domain changed).
 */
export function decidedMatch(decision: CrmDecision | undefined, hits: string[]): 'skip' | { free: string[]; mine: string[] } | undefined {
  if (!decision) return undefined;
  if ('skip' in decision) return 'skip';
  if ('create' in decision) return { free: [], mine: [] };
  return hits.includes(decision.link) ? { free: [decision.link], mine: [] } : undefined;
}
