// One customer from what a person typed (CLI `customers status|history`, portal links):
// the `/pivotal` matching, but several hits or none are an error naming the candidates,
// never a guess.
import type { Types } from 'mongoose';
import { AppError } from '../errors.ts';
import { searchCustomers } from './search.ts';

export async function resolveOneCustomer(workspaceId: Types.ObjectId, query: string): Promise<any> {
  const result = await searchCustomers(workspaceId, query, { limit: 6 });
  if (result.customers.length === 1) return result.customers[0];
  const label = (c: any) => `#${c.display_id} ${c.name}`;
  if (result.customers.length === 0) {
    const hint = result.suggestions.length ? `; did you mean ${result.suggestions.map(label).join(', ')}?` : '';
    throw new AppError('not_found', `no customer matches "${query}"${hint}`);
  }
  throw new AppError('bad_input', `"${query}" matches several customers (${result.customers.slice(0, 5).map(label).join(', ')}); use the display id`);
}
