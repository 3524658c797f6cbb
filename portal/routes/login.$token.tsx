// /login/:token: consumes a one-time sign-in link and starts a session.
import { json, redirect, type LoaderFunctionArgs } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { sessionStorage } from '../session.server.ts';

export async function loader({ params, context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  try {
    const member = await pivotal.consumeLoginToken(params.token ?? '');
    const storage = sessionStorage(pivotal.sessionSecret, pivotal.secureCookies);
    const session = await storage.getSession(request.headers.get('Cookie'));
    session.set('workspaceId', member.workspaceId);
    session.set('email', member.email);
    session.set('role', member.role);
    return redirect('/', { headers: { 'Set-Cookie': await storage.commitSession(session) } });
  } catch (e) {
    return json({ error: e instanceof Error ? e.message : 'This sign-in link is not valid' }, { status: 401 });
  }
}

export default function Login() {
  const { error } = useLoaderData<typeof loader>();
  return (
    <main>
      <section className="card">
        <h1>Sign-in link not accepted</h1>
        <p>{error}</p>
      </section>
    </main>
  );
}
