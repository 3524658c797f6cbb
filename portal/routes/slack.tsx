// /slack: the workspace's Slack — install the app (or see the linked team), pick the default
// alert channel, choose which alert types are sent, link customers to their own channels,
// and send a test alert. Owners and admins only.
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { expectedError } from '../forms.server.ts';
import { requireAdminAction, requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  return json({ member: { email: member.email, role: member.role }, slack: await pivotal.slack.view(member.workspaceId) });
}

export async function action({ context, request }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminAction(pivotal, request);
  const form = await request.formData();
  const intent = form.get('intent');
  try {
    if (intent === 'settings') {
      await pivotal.slack.save(member.workspaceId, { default_channel_id: (form.get('default_channel_id') as string | null) || null, on: form.getAll('on').map(String) });
      return json({ ok: true as const, message: 'Saved.' });
    }
    if (intent === 'test') {
      const r = await pivotal.slack.testAlert(member.workspaceId, member.email);
      return json({ ok: true as const, message: `Test alert posted to the default channel (${r.channel}). Check it in Slack.` });
    }
    if (intent === 'link' || intent === 'unlink') {
      const displayId = String(form.get('customer') ?? '');
      await pivotal.slack.linkCustomer(member.workspaceId, displayId, intent === 'unlink' ? null : String(form.get('channel') ?? ''));
      return json({ ok: true as const, message: intent === 'unlink' ? `Customer #${displayId} now uses the default channel.` : `Customer #${displayId}'s alerts now go to its own channel.` });
    }
    return json({ ok: false as const, message: 'Unknown action.' }, { status: 400 });
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

export default function SlackPage() {
  const { member, slack: s } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  const name = (id: string) => s.channels.find((c) => c.id === id)?.name;
  return (
    <SubPage member={member} result={result}>
      <section className="card">
        <h1>Slack</h1>
        {s.team ? (
          <div className={`banner ${s.team.status === 'ok' ? 'success' : 'error'}`} role={s.team.status === 'ok' ? 'status' : 'alert'}>
            {s.team.status === 'ok' ? <>Linked to the Slack team <strong>{s.team.name}</strong>{s.team.name !== s.team.id ? ` (${s.team.id})` : ''}.</> : <>Slack ({s.team.name}) stopped accepting Pivotal's token{s.team.status_reason ? `: ${s.team.status_reason}` : ''}. Reinstall the app.</>}
          </div>
        ) : (
          <p className="empty">Slack is not connected. Install the Pivotal app in your Slack so CSMs can type <code>/pivotal acme</code> and channels receive alerts.</p>
        )}
        {s.install_url ? (
          <p><a className="button" href={s.install_url}>{s.team ? 'Reinstall in Slack' : 'Add to Slack'}</a></p>
        ) : !s.team ? (
          <p className="muted">
            The Slack install needs <code>SLACK_CLIENT_ID</code>, <code>SLACK_CLIENT_SECRET</code> and <code>SLACK_STATE_SECRET</code> on this instance. Or link a team with a bot token:{' '}
            <code>npx pivotal slack link --workspace … --team T… --bot-token xoxb-…</code>
          </p>
        ) : null}
      </section>

      {s.team ? (
        <>
          <Form method="post">
            <input type="hidden" name="intent" value="settings" />
            <section className="card" aria-label="Alerts">
              <h2>Alerts</h2>
              {s.channels_error ? <p className="banner warning">Slack's channels could not be listed: {s.channels_error}</p> : null}
              <label className="field">
                Default channel <span className="muted">(alerts of customers without their own channel)</span>
                <select name="default_channel_id" defaultValue={s.default_channel_id ?? ''}>
                  <option value="">— none —</option>
                  {s.default_channel_id && !name(s.default_channel_id) ? <option value={s.default_channel_id}>{s.default_channel_id}</option> : null}
                  {s.channels.map((c) => <option key={c.id} value={c.id}>#{c.name}</option>)}
                </select>
              </label>
              <fieldset className="plain">
                <legend className="field">Send these alerts</legend>
                {s.alert_types.map((t) => (
                  <label key={t.key} className="choice">
                    <input type="checkbox" name="on" value={t.key} defaultChecked={t.on} /> {t.label}
                  </label>
                ))}
              </fieldset>
              <p className="muted">Each alert goes to the customer's own channel when it has one, else to the default channel.</p>
              <div className="actions wrap">
                <button type="submit" disabled={busy}>Save</button>
              </div>
            </section>
          </Form>
          <section className="card" aria-label="Test alert">
            <h2>Test alert</h2>
            <Form method="post">
              <button type="submit" name="intent" value="test" className="secondary" disabled={busy || !s.default_channel_id}>Send a test alert</button>{' '}
              <span className="muted">{s.default_channel_id ? `to #${name(s.default_channel_id) ?? s.default_channel_id}` : 'Choose and save a default channel first.'}</span>
            </Form>
          </section>
          <section className="card" aria-label="Customer channels">
            <h2>Customer channels</h2>
            {s.linked_customers.length ? (
              <div className="scroll">
                <table className="grid compact" aria-label="Customers with their own channel">
                  <tbody>
                    {s.linked_customers.map((c) => (
                      <tr key={c.display_id}>
                        <td><a href={`/customers/${c.display_id}`}>{c.name}</a> <span className="muted">#{c.display_id}</span></td>
                        <td>#{name(c.channel_id) ?? c.channel_id}</td>
                        <td>
                          <Form method="post">
                            <input type="hidden" name="customer" value={c.display_id} />
                            <button type="submit" name="intent" value="unlink" className="link" disabled={busy}>Use default</button>
                          </Form>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <p className="empty">No customer has its own channel yet; every alert goes to the default channel.</p>
            )}
            <Form method="post" className="actions wrap">
              <input type="hidden" name="intent" value="link" />
              <label>Customer number <input type="text" name="customer" inputMode="numeric" size={6} required placeholder="42" /></label>
              <label>
                Channel{' '}
                <select name="channel" required>
                  {s.channels.map((c) => <option key={c.id} value={c.id}>#{c.name}</option>)}
                </select>
              </label>
              <button type="submit" className="secondary" disabled={busy || !s.channels.length}>Link</button>
            </Form>
          </section>
        </>
      ) : null}
    </SubPage>
  );
}
