// /customers/export.json: the customers the list's filters select (all statuses unless
// filtered), streamed from a database cursor. Members export only the customers they own.
import { json, redirect, type LoaderFunctionArgs } from '@remix-run/node';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  let params;
  try {
    params = pivotal.customers.parseListParams(new URL(request.url).searchParams);
  } catch (e) {
    throw json((e as Error).message, { status: 400 });
  }
  const body = await pivotal.customers.exportJson(member, params);
  return new Response(body, { headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Disposition': 'attachment; filename="customers.json"', 'Cache-Control': 'no-store' } });
}
