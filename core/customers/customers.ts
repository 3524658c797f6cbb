// Customers: creation with an atomically allocated display_id, listing with filters,
// and the status changes people make (history recorded, events emitted).
import { Types } from 'mongoose';
import { z } from 'zod';
import { Customer, CUSTOMER_STATUSES } from '../models/customer.ts';
import { lastDisplayId, nextDisplayIds } from '../models/counter.ts';
import { AppError } from '../errors.ts';
import { lowerKey, searchGrams } from './text.ts';
import { normalizeDomain } from '../domain.ts';
import { attachBilling, noBilling, type BillingView } from '../billing/store.ts';

export interface NewCustomer {
  name: string;
  domain?: string | null;
  plan?: string | null;
  owner_email?: string | null;
  owner_member_id?: Types.ObjectId | null;
  status?: (typeof CUSTOMER_STATUSES)[number];
  /** billing known at creation (imports, seeds); Stripe syncs write it otherwise */
  billing?: Partial<BillingView>;
  [extra: string]: unknown;
}

/** Fields derived from name and domain that lookups rely on. */
export function derivedSearchFields(name: string, domain: string | null | undefined) {
  return { name_lower: lowerKey(name), search_grams: searchGrams(name, domain) };
}

export async function createCustomers(workspaceId: Types.ObjectId, items: NewCustomer[]) {
  if (items.length === 0) return [];
  const first = await nextDisplayIds(workspaceId, items.length);
  const docs = items.map(({ billing, ...item }, i) => {
    const domain = item.domain === undefined ? null : normalizeDomain(item.domain);
    return { ...item, workspace_id: workspaceId, display_id: first + i, domain, ...derivedSearchFields(item.name, domain), billing: { ...noBilling(), ...billing } };
  });
  return Customer.insertMany(docs, { ordered: true });
}

/**
 * The highest display id in the workspace: the counter's (one point read), else one sorted
 * read for customers written without it. Ids above it may appear meanwhile.
 */
export async function highestDisplayId(workspaceId: Types.ObjectId): Promise<number> {
  const counted = await lastDisplayId(workspaceId);
  if (counted > 0) return counted;
  const top = await Customer.findOne({ workspace_id: workspaceId }, { display_id: 1 }).sort({ display_id: -1 }).lean();
  return top?.display_id ?? 0;
}

export const listFilters = z.object({
  status: z.enum([...CUSTOMER_STATUSES, 'all'] as [string, ...string[]], { message: `status must be one of ${[...CUSTOMER_STATUSES, 'all'].join(', ')}` }).optional(),
  owner_member_id: z.string().optional(),
  limit: z.number().int().min(1).max(100_000).optional(),
});

/**
 * Customers of a workspace. Without a status filter, churned and archived customers are
 * hidden (as in the portal's default list); `status: 'all'` shows everyone.
 */
export async function listCustomers(workspaceId: Types.ObjectId, filters: z.input<typeof listFilters> = {}) {
  const f = listFilters.safeParse(filters);
  if (!f.success) throw new AppError('bad_input', f.error.issues[0]!.message);
  const q: Record<string, unknown> = { workspace_id: workspaceId };
  if (!f.data.status) q.status = { $in: ['active', 'at_risk'] };
  else if (f.data.status !== 'all') q.status = f.data.status;
  if (f.data.owner_member_id) q.owner_member_id = new Types.ObjectId(f.data.owner_member_id);
  return attachBilling(await Customer.find(q).sort({ display_id: 1 }).limit(f.data.limit ?? 0).lean());
}
