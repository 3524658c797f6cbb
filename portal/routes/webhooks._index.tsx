// /webhooks: the workspace's outbound webhook endpoints, and a form to add one. The signing
// secret is shown once, in the answer to the form; a webhook.ping goes out at once.
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { expectedError } from '../forms.server.ts';

const isAdmin = (role: string) => role === 'owner' || role === 'admin';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  if (!isAdmin(member.role)) throw json('Outbound webhooks are managed by workspace owners and admins.', { status: 403 });
  return json({ member: { email: member.email, role: member.role }, endpoints: await pivotal.webhooks.list(member.workspaceId), eventTypes: pivotal.webhooks.eventTypes });
}

export async function action({ context, request }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  if (!isAdmin(member.role)) return json({ ok: false as const, message: 'Only workspace owners and admins manage webhooks.' }, { status: 403 });
  const data = await request.formData();
  const url = String(data.get('url') ?? '');
  const events = data.getAll('events').map(String);
  try {
    const r = await pivotal.webhooks.create(member.workspaceId, { url, events, livemode: data.get('mode') !== 'test', allowPrivate: data.get('allow_private') === 'on', createdBy: member.email });
    return json({ ok: true as const, message: `Endpoint added; a webhook.ping is on its way to ${r.endpoint.url}.`, secret: r.secret, endpointId: r.endpoint.id });
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

export default function Webhooks() {
  const { member, endpoints, eventTypes } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  return (
    <SubPage member={member} result={result ? { ok: result.ok, message: result.message } : undefined}>
      {result && 'secret' in result ? (
        <section className="card" aria-label="Signing secret">
          <h2>Signing secret</h2>
          <p>Copy it now: it is shown only this once. Verify each request with a Standard Webhooks library.</p>
          <p className="secret">{result.secret}</p>
        </section>
      ) : null}
      <section className="card">
        <h1>Outbound webhooks</h1>
        <p className="muted">
          Pivotal POSTs customer events to these URLs, signed per Standard Webhooks. Failures are retried after 5 s, 5 min, 30 min, 2 h, 5 h and
          10 h, with a last try 24 h after the event; an endpoint failing 100 times in a row is disabled. Deliveries are kept 90 days.
        </p>
        {endpoints.length ? (
          <div className="table-scroll">
            <table className="grid">
              <thead>
                <tr>
                  <th>URL</th>
                  <th>State</th>
                  <th>Events</th>
                  <th className="num">Failures in a row</th>
                </tr>
              </thead>
              <tbody>
                {endpoints.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <a href={`/webhooks/${e.id}`}>{e.url}</a>
                      {e.livemode ? null : <span className="pill test">test</span>}
                    </td>
                    <td><span className={`pill ${e.state}`}>{e.state}</span></td>
                    <td className="small">{e.events.length ? e.events.join(', ') : 'all events'}</td>
                    <td className="num">{e.consecutive_failures}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">No endpoint yet.</p>
        )}
      </section>
      <section className="card" aria-label="Add an endpoint">
        <h2>Add an endpoint</h2>
        <Form method="post">
          <fieldset className="plain" disabled={busy}>
            <label className="field">
              URL
              <input type="text" name="url" placeholder="https://example.com/pivotal-events" required />
            </label>
            <p className="small muted">Events (none checked: all of them)</p>
            <div className="checks">
              {eventTypes.map((t) => (
                <label key={t} className="choice">
                  <input type="checkbox" name="events" value={t} /> {t}
                </label>
              ))}
            </div>
            <label className="choice">
              <input type="checkbox" name="mode" value="test" /> Test mode (events carry <code>livemode: false</code>)
            </label>
            <label className="choice">
              <input type="checkbox" name="allow_private" /> Allow private and loopback addresses (development receivers only)
            </label>
            <p>
              <button type="submit">Add endpoint</button>
            </p>
          </fieldset>
        </Form>
      </section>
    </SubPage>
  );
}
