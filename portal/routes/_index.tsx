// Home: who is signed in, or how to sign in.
import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { sessionStorage } from '../session.server.ts';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const session = await sessionStorage(pivotal.sessionSecret, pivotal.secureCookies).getSession(request.headers.get('Cookie'));
  const workspaceId = session.get('workspaceId');
  const email = session.get('email');
  const member = workspaceId && email ? await pivotal.memberOf(workspaceId, email) : null;
  return json({
    appUrl: pivotal.appUrl,
    member: member ? { email: member.email, role: member.role, workspace: await pivotal.workspaceName(member.workspaceId) } : null,
  });
}

export default function Index() {
  const { member } = useLoaderData<typeof loader>();
  return (
    <>
      <header className="top">
        <span className="logo">Pivotal</span>
        <span className="muted">Customer success, in Slack</span>
        {member ? <span className="muted" style={{ marginLeft: 'auto' }}>{member.email} · {member.role}</span> : null}
      </header>
      <main>
        {member ? (
          <section className="card">
            <h1>{member.workspace}</h1>
            <p>{`You are signed in as ${member.email} (${member.role}).`}</p>
          </section>
        ) : (
          <section className="card">
            <h1>Welcome to Pivotal</h1>
            <p>
              Admins sign in with a one-time link. On a new install, <code>npm start</code> prints one; an operator can create
              another with <code>npx pivotal admin invite --workspace ID --email you@example.com</code>.
            </p>
          </section>
        )}
      </main>
    </>
  );
}
