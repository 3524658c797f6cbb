// /connections/:id/problems.csv: the last validation's problem records of a Stripe
// connection, for the admin to fix in Stripe (owners and admins: the records name payers).
import { redirect, type LoaderFunctionArgs } from '@remix-run/node';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  try {
    const csv = await pivotal.stripeProblemsCsv(member.workspaceId, params.id ?? '', member);
    return new Response(csv, { headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="stripe-problems-${params.id}.csv"` } });
  } catch (e) {
    if ((e as { code?: string }).code === 'not_found') throw new Response('No such Stripe connection in your workspace', { status: 404 });
    if ((e as { code?: string }).code === 'forbidden') throw new Response((e as Error).message, { status: 403 });
    throw e;
  }
}
