// /connections/:id/ambiguous: the CRM records whose domain matched several Pivotal customers
// (or a customer another record already has), each with its candidates linked to their
// pages, and the admin's decision (link to one, create a new customer, skip) that every
// later sync honours (core/sync/crm-ambiguous.ts). Owners and admins only.
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { ConnectionFrame } from '../components/connection-frame.tsx';
import { expectedError } from '../forms.server.ts';
import { notFoundAs404, requireAdminAction, requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  try {
    const data = await pivotal.connections.ambiguous(member.workspaceId, params.id ?? '');
    return json({ member: { email: member.email, role: member.role }, workspace: await pivotal.workspaceFrame(member.workspaceId), ...data });
  } catch (e) {
    notFoundAs404(e);
  }
}

export async function action({ context, request, params }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminAction(pivotal, request);
  try {
    const form = await request.formData();
    if (form.get('intent') !== 'resolve') return json({ ok: false as const, message: 'Unknown action.' }, { status: 400 });
    const message = await pivotal.connections.resolveAmbiguous(member.workspaceId, params.id ?? '', String(form.get('match') ?? ''), String(form.get('choice') ?? ''), member.email);
    return json({ ok: true as const, message: `${message} Run sync now to apply it at once.` });
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

type Match = ReturnType<typeof useLoaderData<typeof loader>>['matches'][number];

export default function AmbiguousMatches() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  const open = d.matches.filter((m) => m.status === 'open');
  const settled = d.matches.filter((m) => m.status === 'resolved');
  const source = d.overview.label;
  return (
    <SubPage member={d.member} result={result}>
      <ConnectionFrame c={d.overview} timezone={d.workspace.timezone} tab="/ambiguous" />
      <section className="card">
        <h2>Ambiguous matches</h2>
        <p className="muted">
          Pivotal does not guess: when a {source} record&apos;s domain matches several customers, or a customer another {source} record already has, the record waits here. Decide which
          customer it is, create a new one, or skip it; the next sync applies the decision to every unlinked record of that domain.
        </p>
        {open.length ? null : <p className="empty">No ambiguous matches waiting.</p>}
      </section>
      {open.map((m) => <OpenMatch key={m.id} m={m} source={source} busy={busy} />)}
      {settled.length ? (
        <section className="card" aria-label="Settled">
          <h2>Settled</h2>
          <div className="scroll">
            <table className="grid" aria-label="Settled ambiguous matches">
              <thead>
                <tr><th>Domain</th><th>{source} records</th><th>Decision</th></tr>
              </thead>
              <tbody>
                {settled.map((m) => (
                  <tr key={m.id}>
                    <td>{m.domain}</td>
                    <td>{m.records.map((r) => r.name || r.external_id).join(', ') || '—'}</td>
                    <td>{m.decision}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </SubPage>
  );
}

function OpenMatch({ m, source, busy }: { m: Match; source: string; busy: boolean }) {
  return (
    <section className="card" aria-label={m.domain}>
      <h2>{m.domain}</h2>
      <p>
        {source} record{m.records.length === 1 ? '' : 's'}:{' '}
        {m.records.length
          ? m.records.map((r, i) => (
              <span key={r.external_id}>
                {i ? ', ' : ''}
                {r.url ? <a href={r.url} target="_blank" rel="noreferrer">{r.name || r.external_id}</a> : r.name || r.external_id} <span className="muted small">({r.external_id})</span>
              </span>
            ))
          : 'not recorded (synced before records were kept)'}
      </p>
      <Form method="post">
        <input type="hidden" name="intent" value="resolve" />
        <input type="hidden" name="match" value={m.id} />
        <fieldset className="plain" disabled={busy}>
          <legend className="muted">Which customer is it?</legend>
          {m.candidates.map((c) => (
            <label key={c.id} className="choice">
              <input type="radio" name="choice" value={`customer:${c.id}`} required /> Link to <a href={`/customers/${c.display_id}`}>{c.name} #{c.display_id}</a>{' '}
              <span className="muted small">
                · {c.status}
                {c.owner_email ? ` · ${c.owner_email}` : ''}
                {c.linked ? ` · already linked to another ${source} record` : ''}
              </span>
            </label>
          ))}
          <label className="choice">
            <input type="radio" name="choice" value="create" /> Create a new customer
          </label>
          <label className="choice">
            <input type="radio" name="choice" value="skip" /> Skip these records <span className="muted small">· they stay out of Pivotal</span>
          </label>
          <p>
            <button type="submit">Save decision</button>
          </p>
        </fieldset>
      </Form>
    </section>
  );
}
