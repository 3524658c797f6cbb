// /connections/:id/problems.csv: the last validation's problem records of a connection, for
// the admin to fix in the source (owners and admins only: the records name payers and companies).
import type { LoaderFunctionArgs } from '@remix-run/node';
import type { PortalContext } from '../context.server.ts';
import { notFoundAs404, requireMember } from '../guard.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireMember(pivotal, request);
  const id = params.id ?? '';
  try {
    if (member.role === 'member') throw new Response('Only workspace owners and admins can download the problem records', { status: 403 });
    const page = await pivotal.connections.page(member.workspaceId, id);
    const stripe = page.overview.provider === 'stripe';
    const csv = stripe ? await pivotal.stripeProblemsCsv(member.workspaceId, id, member) : await pivotal.connections.validationCsv(member.workspaceId, id);
    return new Response(csv, { headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${page.overview.provider}-problems-${id}.csv"` } });
  } catch (e) {
    if (e instanceof Response) throw e;
    notFoundAs404(e);
  }
}
