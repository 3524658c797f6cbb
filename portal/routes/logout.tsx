// /logout: ends the session (server-side, so a copied cookie stops working too) and
// clears the cookie. GET works for a plain link; the top bar's button posts here.
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import type { PortalContext } from '../context.server.ts';
import { sessionClearCookie, sessionIdFrom } from '../session.server.ts';

async function signOut(context: LoaderFunctionArgs['context'], request: Request) {
  const pivotal = context.pivotal as PortalContext;
  await pivotal.endSession(await sessionIdFrom(pivotal, request.headers.get('Cookie')));
  return redirect('/?signed_out=1', { headers: { 'Set-Cookie': await sessionClearCookie(pivotal), 'Cache-Control': 'no-store' } });
}

export const loader = ({ context, request }: LoaderFunctionArgs) => signOut(context, request);
export const action = ({ context, request }: ActionFunctionArgs) => signOut(context, request);
