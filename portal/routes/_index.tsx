// Home: who is signed in, or how to sign in.
import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';
import { TopBar } from '../components/top-bar.tsx';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  return json({
    appUrl: pivotal.appUrl,
    member: member ? { email: member.email, role: member.role, workspaceId: member.workspaceId, workspace: await pivotal.workspaceName(member.workspaceId) } : null,
    overview: member ? await pivotal.workspaceOverview(member.workspaceId) : null,
  });
}

export default function Index() {
  const { member, overview } = useLoaderData<typeof loader>();
  const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');
  return (
    <>
      <TopBar member={member} />
      <main>
        {member ? (
          <>
            {overview?.alerts.map((a, i) => (
              <div key={i} className={`banner ${a.level}`} role="alert">
                {a.message}
              </div>
            ))}
            {overview?.ambiguous_open ? (
              <p>
                <a href="/billing">Review the billing matches →</a>
              </p>
            ) : null}
            <section className="card">
              <h1>{member.workspace}</h1>
              <p>{`You are signed in as ${member.email} (${member.role}).`}</p>
              <p>
                <a href="/customers">Customers</a>
                {member.role !== 'member' ? <> · <a href="/webhooks">Outbound webhooks</a></> : null}
              </p>
              {member.role !== 'member' ? (
                <details className="cli-hint">
                  <summary>
                    Workspace id <code data-testid="workspace-id">{member.workspaceId}</code> <span className="muted">(for the CLI)</span>
                  </summary>
                  <pre>{`npx pivotal connections list --workspace ${member.workspaceId}\nnpx pivotal customers list --workspace ${member.workspaceId}\nnpx pivotal admin invite --workspace ${member.workspaceId} --email you@example.com`}</pre>
                </details>
              ) : null}
            </section>
            <section className="card">
              <h2>Connections</h2>
              {overview && overview.connections.length ? (
                <table className="grid">
                  <thead>
                    <tr>
                      <th>Provider</th>
                      <th>Role</th>
                      <th>State</th>
                      <th>Last full sync</th>
                      <th>Last update</th>
                      <th>Running</th>
                    </tr>
                  </thead>
                  <tbody>
                    {overview.connections.map((c) => (
                      <tr key={c.id}>
                        <td>
                          <a href={`/connections/${c.id}`}>
                            {c.provider}
                            {c.mode === 'test' ? ' (test)' : ''}
                          </a>
                        </td>
                        <td>{c.role === 'billing_signal' ? 'billing signal' : 'customer source'}</td>
                        <td><span className={`pill ${c.state}`}>{c.state}</span></td>
                        <td>{when(c.last_full_sync_at)}</td>
                        <td>{when(c.last_incremental_at)}</td>
                        <td>{c.running ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p className="empty">No source connected yet. Connect your CRM (or Stripe) and Pivotal mirrors your customer list, then attaches billing and health.</p>
              )}
              {member.role !== 'member' ? (
                <p>
                  <a className="button" href="/connections/new">Connect a source</a>{' '}
                  <span className="muted">HubSpot, Stripe, or Stripe as a billing signal next to your CRM</span>
                </p>
              ) : null}
            </section>
          </>
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
