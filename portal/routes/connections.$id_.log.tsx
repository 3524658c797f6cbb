// /connections/:id/log: the integration log — every run of the last 30 days (kind, trigger,
// outcome, counts), with an errors-only filter that shows each failed record and the
// provider's response. Owners and admins only.
import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { Fragment } from 'react';
import { useLoaderData } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { ConnectionFrame } from '../components/connection-frame.tsx';
import { When } from '../components/when.tsx';
import { notFoundAs404, requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  const errorsOnly = new URL(request.url).searchParams.get('errors') === '1';
  try {
    const data = await pivotal.connections.log(member.workspaceId, params.id ?? '', errorsOnly);
    return json({ member: { email: member.email, role: member.role }, workspace: await pivotal.workspaceFrame(member.workspaceId), errorsOnly, ...data });
  } catch (e) {
    notFoundAs404(e);
  }
}

const SHOWN = ['created', 'updated', 'matched', 'unmatched', 'skipped', 'archived', 'errors'] as const;

export default function IntegrationLog() {
  const d = useLoaderData<typeof loader>();
  const tz = d.workspace.timezone;
  const base = `/connections/${d.overview.id}/log`;
  return (
    <SubPage member={d.member}>
      <ConnectionFrame c={d.overview} timezone={tz} tab="/log" />
      <section className="card" aria-label="Integration log">
        <h2>Integration log <span className="muted">(last 30 days)</span></h2>
        <nav className="filter" aria-label="Filter">
          <a href={base} aria-current={d.errorsOnly ? undefined : 'page'}>All runs</a>
          <a href={`${base}?errors=1`} aria-current={d.errorsOnly ? 'page' : undefined}>Errors only</a>
        </nav>
        {d.runs.length ? (
          <div className="scroll">
            <table className="grid" aria-label="Runs">
              <thead>
                <tr><th>Started</th><th>Run</th><th>Outcome</th>{SHOWN.map((k) => <th key={k} className="num">{k}</th>)}</tr>
              </thead>
              <tbody>
                {d.runs.map((r) => (
                  <Fragment key={r.id}>
                    <tr>
                      <td><When at={r.started_at} timezone={tz} /></td>
                      <td>{r.kind} <span className="muted">· {r.trigger}</span></td>
                      <td><span className={`pill ${r.status}`}>{r.status}</span>{r.message ? <div className="muted small">{r.message}</div> : null}</td>
                      {SHOWN.map((k) => <td key={k} className="num">{r.counts[k]}</td>)}
                    </tr>
                    {r.errors.map((e) => (
                      <tr key={`${r.id}:${e.id}`} className="sub">
                        <td />
                        <td><code>{e.record_id}</code></td>
                        <td colSpan={SHOWN.length + 1}>
                          {e.message}
                          {e.provider_response ? <pre className="response">{e.provider_response}</pre> : null}
                        </td>
                      </tr>
                    ))}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="empty">{d.errorsOnly ? 'No run had errors in the last 30 days.' : 'No runs yet. Validate, preview or run a sync from the connection’s overview.'}</p>
        )}
      </section>
    </SubPage>
  );
}
