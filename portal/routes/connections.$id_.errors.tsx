// /connections/:id/errors: the open sync errors of a connection with the provider's
// response — ignore one (until the record changes in the source), ignore all, retry one
// record now, download as CSV. Owners and admins only.
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { ConnectionFrame } from '../components/connection-frame.tsx';
import { When } from '../components/when.tsx';
import { expectedError } from '../forms.server.ts';
import { notFoundAs404, requireAdminAction, requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  try {
    const data = await pivotal.connections.errors(member.workspaceId, params.id ?? '');
    return json({ member: { email: member.email, role: member.role }, workspace: await pivotal.workspaceFrame(member.workspaceId), ...data });
  } catch (e) {
    notFoundAs404(e);
  }
}

export async function action({ context, request, params }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminAction(pivotal, request);
  const id = params.id ?? '';
  try {
    const form = await request.formData();
    const intent = form.get('intent');
    const errorId = String(form.get('error') ?? '');
    if (intent === 'ignore-all') {
      const n = await pivotal.connections.ignore(member.workspaceId, id, { all: true });
      return json({ ok: true as const, message: `Ignored ${n} error${n === 1 ? '' : 's'} until their records change in the source.` });
    }
    if (intent === 'ignore') {
      const n = await pivotal.connections.ignore(member.workspaceId, id, { errorId });
      return json({ ok: true as const, message: n ? 'Ignored until the record changes in the source.' : 'That error was already ignored or fixed.' });
    }
    if (intent === 'retry') {
      const r = await pivotal.connections.retry(member.workspaceId, id, errorId);
      return json({ ok: r.fixed, message: r.fixed ? 'The record synced: its error is closed.' : `Still failing: ${r.error?.message ?? r.summary.message ?? 'see the integration log'}` });
    }
    return json({ ok: false as const, message: 'Unknown action.' }, { status: 400 });
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

export default function SyncErrors() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  const tz = d.workspace.timezone;
  return (
    <SubPage member={d.member} result={result}>
      <ConnectionFrame c={d.overview} timezone={tz} tab="/errors" openErrors={d.errors.length} />
      <section className="card" aria-label="Sync errors">
        <h2>Open sync errors</h2>
        {d.errors.length ? (
          <>
            <div className="actions wrap">
              <Form method="post">
                <button type="submit" name="intent" value="ignore-all" className="secondary" disabled={busy}>Ignore all {d.errors.length}</button>
              </Form>
              <a className="button secondary" href={`/connections/${d.overview.id}/errors.csv`} download>Download CSV</a>
            </div>
            <div className="scroll">
              <table className="grid" aria-label="Open sync errors">
                <thead>
                  <tr><th>Record</th><th>Problem</th><th>Provider response</th><th>Last seen</th><th><span className="sr-only">Actions</span></th></tr>
                </thead>
                <tbody>
                  {d.errors.map((e) => (
                    <tr key={e.id}>
                      <td><span className="muted">{e.object_type}</span> <code>{e.record_id}</code></td>
                      <td>{e.message}{e.attempts > 1 ? <span className="muted"> ({e.attempts} attempts)</span> : null}</td>
                      <td>{e.provider_response ? <details><summary>show</summary><pre>{e.provider_response}</pre></details> : <span className="muted">—</span>}</td>
                      <td><When at={e.last_seen_at} timezone={tz} /></td>
                      <td>
                        <Form method="post" className="actions">
                          <input type="hidden" name="error" value={e.id} />
                          <button type="submit" name="intent" value="retry" className="secondary" disabled={busy} aria-label={`Retry record ${e.record_id}`}>Retry</button>
                          <button type="submit" name="intent" value="ignore" className="secondary" disabled={busy} aria-label={`Ignore record ${e.record_id}`}>Ignore</button>
                        </Form>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        ) : (
          <p className="empty">No open sync errors. Records that fail to sync show up here with the provider's answer, and you can retry or ignore them.</p>
        )}
      </section>
    </SubPage>
  );
}
