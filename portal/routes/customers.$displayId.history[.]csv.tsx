// /customers/:displayId/history.csv: the customer's whole activity history, streamed,
// with exactly the columns timestamp,actor,actor_type,event_type,field,old_value,new_value.
import { redirect, type LoaderFunctionArgs } from '@remix-run/node';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  try {
    const { displayId, body } = await pivotal.customers.historyCsv(member, params.displayId ?? '');
    return new Response(body, { headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="customer-${displayId}-history.csv"`, 'Cache-Control': 'no-store' } });
  } catch (e) {
    if ((e as { code?: string }).code === 'not_found') throw new Response('No customer with this id in your book.', { status: 404 });
    throw e;
  }
}
