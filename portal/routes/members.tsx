// /members: who can sign in to the portal — invite by a one-time link, change roles (exactly
// one owner; only the owner hands ownership on), remove. Owners and admins only.
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { When } from '../components/when.tsx';
import { expectedError } from '../forms.server.ts';
import { requireAdminAction, requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  return json({
    member: { email: member.email, role: member.role },
    workspace: await pivotal.workspaceFrame(member.workspaceId),
    members: await pivotal.members.list(member.workspaceId),
  });
}

type Result = { ok: boolean; message: string; link?: string };

export async function action({ context, request }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const actor = await requireAdminAction(pivotal, request);
  const form = await request.formData();
  const intent = form.get('intent');
  const email = String(form.get('email') ?? '');
  const role = String(form.get('role') ?? '');
  try {
    if (intent === 'invite') {
      if (role !== 'admin' && role !== 'member') return json<Result>({ ok: false, message: 'Invite as an admin or a member (ownership is handed on from the list).' }, { status: 400 });
      const existing = (await pivotal.members.list(actor.workspaceId)).find((m) => m.email === email.trim().toLowerCase());
      if (existing) return json<Result>({ ok: false, message: `${existing.email} is already a member; change their role in the list.` }, { status: 409 });
      const invite = await pivotal.members.invite({ workspaceId: actor.workspaceId, email, role });
      return json<Result>({ ok: true, message: `Invited ${invite.email} as ${invite.role}. Send them this one-time sign-in link (valid 24 hours):`, link: invite.link });
    }
    if (intent === 'role') {
      await pivotal.members.changeRole(actor.workspaceId, actor, email, role);
      return json<Result>({ ok: true, message: `${email} is now ${role === 'owner' ? 'the owner' : `a${role === 'admin' ? 'n' : ''} ${role}`}.` });
    }
    if (intent === 'remove') {
      await pivotal.members.remove(actor.workspaceId, email);
      return json<Result>({ ok: true, message: `${email} was removed and can no longer sign in.` });
    }
    return json<Result>({ ok: false, message: 'Unknown action.' }, { status: 400 });
  } catch (e) {
    if ((e as { code?: string }).code === 'forbidden') return json<Result>({ ok: false, message: (e as Error).message }, { status: 403 });
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

export default function Members() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as Result | undefined;
  const busy = useNavigation().state !== 'idle';
  return (
    <SubPage member={d.member} result={result}>
      {result && 'link' in result && result.link ? (
        <p className="banner success">
          <code data-testid="invite-link">{result.link}</code>
        </p>
      ) : null}
      <section className="card">
        <h1>Members of {d.workspace.name}</h1>
        <p className="muted">Owners and admins connect sources, map fields and fix sync errors. Members (CSMs) sign in read-only. There is exactly one owner.</p>
        <div className="scroll">
          <table className="grid" aria-label="Members">
            <thead>
              <tr><th>Email</th><th>Role</th><th>Added</th><th><span className="sr-only">Actions</span></th></tr>
            </thead>
            <tbody>
              {d.members.map((m) => (
                <tr key={m.email}>
                  <td>{m.email}{m.email === d.member.email ? <span className="muted"> (you)</span> : null}</td>
                  <td>
                    {m.role === 'owner' ? (
                      <span className="pill">owner</span>
                    ) : (
                      <Form method="post" className="inline">
                        <input type="hidden" name="intent" value="role" />
                        <input type="hidden" name="email" value={m.email} />
                        <select name="role" defaultValue={m.role} aria-label={`Role of ${m.email}`}>
                          <option value="member">member</option>
                          <option value="admin">admin</option>
                          {d.member.role === 'owner' ? <option value="owner">owner (hand on ownership)</option> : null}
                        </select>
                        <button type="submit" className="secondary" disabled={busy}>Change</button>
                      </Form>
                    )}
                  </td>
                  <td><When at={m.added_at} timezone={d.workspace.timezone} /></td>
                  <td>
                    {m.role !== 'owner' ? (
                      <Form method="post" onSubmit={(e) => !confirm(`Remove ${m.email}?`) && e.preventDefault()}>
                        <input type="hidden" name="intent" value="remove" />
                        <input type="hidden" name="email" value={m.email} />
                        <button type="submit" className="danger" disabled={busy} aria-label={`Remove ${m.email}`}>Remove</button>
                      </Form>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section className="card" aria-label="Invite">
        <h2>Invite someone</h2>
        <Form method="post" className="actions wrap">
          <input type="hidden" name="intent" value="invite" />
          <label className="sr-only" htmlFor="invite-email">Email</label>
          <input id="invite-email" type="email" name="email" required placeholder="name@company.com" />
          <label className="sr-only" htmlFor="invite-role">Role</label>
          <select id="invite-role" name="role" defaultValue="member">
            <option value="member">member (read-only)</option>
            <option value="admin">admin</option>
          </select>
          <button type="submit" disabled={busy}>Create sign-in link</button>
        </Form>
      </section>
    </SubPage>
  );
}
