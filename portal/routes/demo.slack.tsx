// /demo/slack (only under `npm run demo`): type what a CSM types in Slack — `/pivotal acme` —
// and see the bot's exact Block Kit reply, rendered; below, what Pivotal posted to each
// channel (alerts). The request really goes to the bot, signed as Slack signs it.
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { BlockKit } from '../components/block-kit.tsx';
import { requireMember } from '../guard.server.ts';

function demoOnly(pivotal: PortalContext) {
  if (!pivotal.demoSlack) throw new Response('The Slack preview exists only in the demo (npm run demo).', { status: 404 });
  return pivotal.demoSlack;
}

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireMember(pivotal, request);
  const preview = demoOnly(pivotal);
  return json({ member: { email: member.email, role: member.role }, team: preview.team, channels: preview.channels() });
}

export async function action({ context, request }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  await requireMember(pivotal, request);
  const preview = demoOnly(pivotal);
  const text = String((await request.formData()).get('text') ?? '').replace(/^\s*\/pivotal\s*/, '').slice(0, 200);
  const r = await preview.ask(text);
  return json({ asked: `/pivotal ${text}`.trim(), ...r });
}

export default function SlackPreview() {
  const { member, team, channels } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  const reply = answer && 'replies' in answer ? answer : null;
  return (
    <SubPage member={member}>
      <section className="card">
        <h1>Slack preview <span className="pill test">demo</span></h1>
        <p className="muted">You are Casey, a CSM in the {team.name} Slack. Type what you would type in Slack; the bot answers exactly as it would there.</p>
        <Form method="post" className="actions wrap">
          <label className="sr-only" htmlFor="slash">Slash command</label>
          <input id="slash" type="text" name="text" defaultValue="/pivotal acme" size={32} autoComplete="off" />
          <button type="submit" disabled={busy}>{busy ? 'Asking…' : 'Send'}</button>
        </Form>
        <p className="muted small">Try <code>/pivotal acme</code>, <code>/pivotal failing</code>, <code>/pivotal at-risk</code>, <code>/pivotal help</code>, or a typo like <code>/pivotal globx</code>.</p>
      </section>
      {reply ? (
        <section className="card" aria-label="Bot reply">
          <h2><code>{reply.asked}</code></h2>
          {reply.replies.length ? (
            reply.replies.map((r, i) => (
              <div key={i} className="slack-frame">
                <div className="muted small">Pivotal · {r.response_type === 'in_channel' ? 'in channel' : 'only visible to you'}</div>
                <BlockKit blocks={r.blocks} text={r.text} />
              </div>
            ))
          ) : (
            <p className="empty">No reply arrived (ack: {reply.ack || 'empty'}).</p>
          )}
        </section>
      ) : null}
      {channels.map((c) => (
        <section key={c.id} className="card" aria-label={`#${c.name}`}>
          <h2>#{c.name}</h2>
          {c.messages.length ? (
            c.messages.map((m) => (
              <div key={m.ts} className="slack-frame">
                <BlockKit blocks={m.blocks} text={m.text} />
              </div>
            ))
          ) : (
            <p className="empty">Nothing posted here yet. Alerts (payment failing, at risk, churned) land here; mark a customer at risk from its card to see one.</p>
          )}
        </section>
      ))}
    </SubPage>
  );
}
