// /webhooks/:id: one endpoint's deliveries (attempts, last response), replay of one delivery
// or of every failure since a date, enable / disable, delete.
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { expectedError } from '../forms.server.ts';

const isAdmin = (role: string) => role === 'owner' || role === 'admin';
const STATUSES = ['pending', 'retrying', 'succeeded', 'failed'];

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  if (!isAdmin(member.role)) throw json('Outbound webhooks are managed by workspace owners and admins.', { status: 403 });
  const status = new URL(request.url).searchParams.get('status') ?? '';
  try {
    const endpoint = await pivotal.webhooks.get(member.workspaceId, params.id ?? '');
    const deliveries = await pivotal.webhooks.deliveries(member.workspaceId, endpoint.id, STATUSES.includes(status) ? status : undefined);
    return json({ member: { email: member.email, role: member.role }, endpoint, deliveries, status });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'not_found' || code === 'bad_input') throw json('No such webhook endpoint in this workspace.', { status: 404 });
    throw e;
  }
}

export async function action({ context, request, params }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  if (!isAdmin(member.role)) return json({ ok: false, message: 'Only workspace owners and admins manage webhooks.' }, { status: 403 });
  const data = await request.formData();
  const id = params.id ?? '';
  try {
    switch (data.get('intent')) {
      case 'replay': {
        const d = await pivotal.webhooks.replay(member.workspaceId, String(data.get('delivery') ?? ''));
        return json({ ok: true, message: `Replaying ${d.event_type} ${d.event_id}.` });
      }
      case 'replay_failed': {
        const since = new Date(String(data.get('since') ?? ''));
        if (Number.isNaN(since.getTime())) return json({ ok: false, message: 'Pick the date to replay failures from.' }, { status: 400 });
        const n = await pivotal.webhooks.replayFailedSince(member.workspaceId, id, since);
        return json({ ok: true, message: `Replaying ${n} failed deliveries.` });
      }
      case 'enable':
      case 'disable':
        await pivotal.webhooks.setEnabled(member.workspaceId, id, data.get('intent') === 'enable');
        return json({ ok: true, message: data.get('intent') === 'enable' ? 'Endpoint enabled.' : 'Endpoint disabled.' });
      case 'delete':
        await pivotal.webhooks.remove(member.workspaceId, id);
        throw redirect('/webhooks');
      default:
        return json({ ok: false, message: 'Unknown action.' }, { status: 400 });
    }
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC' : '—');

export default function WebhookEndpointPage() {
  const { member, endpoint: e, deliveries, status } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  return (
    <SubPage member={member} result={result}>
      <p>
        <a href="/webhooks">← Webhooks</a>
      </p>
      <section className="card">
        <h1>
          Endpoint <span className={`pill ${e.state}`}>{e.state}</span>
        </h1>
        <p className="secret">{e.url}</p>
        {e.disabled_reason ? <div className="banner error" role="alert">{e.disabled_reason}</div> : null}
        <p className="small muted">
          {e.events.length ? e.events.join(', ') : 'All events'} · {e.livemode ? 'live' : 'test'} mode · {e.consecutive_failures} failures in a row
        </p>
        <div className="actions">
          <Form method="post">
            <input type="hidden" name="intent" value={e.state === 'enabled' ? 'disable' : 'enable'} />
            <button type="submit" className="secondary" disabled={busy}>{e.state === 'enabled' ? 'Disable' : 'Enable'}</button>
          </Form>
          <Form method="post" onSubmit={(ev) => { if (!confirm('Delete this endpoint? Its delivery log goes with it.')) ev.preventDefault(); }}>
            <input type="hidden" name="intent" value="delete" />
            <button type="submit" className="secondary" disabled={busy}>Delete</button>
          </Form>
        </div>
        <Form method="post" className="filters">
          <input type="hidden" name="intent" value="replay_failed" />
          <label className="small">
            Replay every failed delivery since <input type="date" name="since" required />
          </label>
          <button type="submit" disabled={busy || e.state !== 'enabled'}>Replay failures</button>
        </Form>
      </section>
      <section className="card" aria-label="Deliveries">
        <h2>Deliveries</h2>
        <Form method="get" className="filters">
          <select name="status" defaultValue={status} aria-label="Delivery status">
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>{s}</option>
            ))}
          </select>
          <button type="submit" className="secondary">Show</button>
        </Form>
        {deliveries.length ? (
          <div className="table-scroll">
            <table className="grid">
              <thead>
                <tr>
                  <th>Event</th>
                  <th>Status</th>
                  <th className="num">Attempts</th>
                  <th>Last response</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {deliveries.map((d) => (
                  <tr key={d.id}>
                    <td>
                      {d.event_type}
                      <div className="muted small">{d.event_id} · {when(d.created_at)}{d.replay_of ? ' · replay' : ''}</div>
                    </td>
                    <td>
                      <span className={`pill ${d.status}`}>{d.status}</span>
                      {d.next_attempt_at ? <div className="muted small">next {when(d.next_attempt_at)}</div> : null}
                    </td>
                    <td className="num">{d.attempts}</td>
                    <td className="small">{d.last_status_code ?? ''} {d.last_error && d.last_error !== `HTTP ${d.last_status_code}` ? d.last_error : ''}{d.last_response ? <div className="muted">{d.last_response.slice(0, 200)}</div> : null}</td>
                    <td>
                      <Form method="post">
                        <input type="hidden" name="intent" value="replay" />
                        <input type="hidden" name="delivery" value={d.id} />
                        <button type="submit" className="secondary" disabled={busy || e.state !== 'enabled'}>Replay</button>
                      </Form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">No deliveries{status ? ` ${status}` : ''} yet.</p>
        )}
      </section>
    </SubPage>
  );
}
