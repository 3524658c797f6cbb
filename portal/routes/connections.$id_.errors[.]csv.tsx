// /connections/:id/errors.csv: the connection's open (not ignored) sync errors, with the
// provider's response, for an admin to work through.
import type { LoaderFunctionArgs } from '@remix-run/node';
import type { PortalContext } from '../context.server.ts';
import { notFoundAs404, requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  try {
    const csv = await pivotal.connections.errorsCsv(member.workspaceId, params.id ?? '');
    return new Response(csv, { headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="sync-errors-${params.id}.csv"` } });
  } catch (e) {
    notFoundAs404(e);
  }
}
