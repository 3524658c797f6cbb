// /connections/new: connect a provider — by OAuth where this instance has the provider's app
// configured, or with a token (checked against the provider before it is saved). One
// customer source per workspace; Stripe can be added next to it as a billing signal.
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { ConnectOptionCard } from '../components/connect-option.tsx';
import { expectedError } from '../forms.server.ts';
import { requireAdminAction, requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  return json({ member: { email: member.email, role: member.role }, options: pivotal.connections.options() });
}

export async function action({ context, request }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminAction(pivotal, request);
  const form = await request.formData();
  const key = String(form.get('intent') ?? '').replace(/^connect:/, '');
  try {
    const conn = await pivotal.connections.connectWithToken(member.workspaceId, key, { token: String(form.get('token') ?? ''), instanceUrl: (form.get('instance_url') as string | null) || undefined });
    return redirect(`/connections/${String(conn._id)}?connected=1`);
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    if ((e as { code?: string }).code === 'unavailable') return json({ ok: false as const, message: (e as Error).message }, { status: 503 });
    throw e;
  }
}

export default function NewConnection() {
  const { member, options } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  return (
    <SubPage member={member} result={result}>
      <section className="card">
        <h1>Connect a source</h1>
        <p className="muted">
          One customer source per workspace (HubSpot{options.some((o) => o.provider === 'salesforce') ? ', Salesforce' : ''} or Stripe), so nothing is duplicated. Stripe can also join a CRM as a billing signal.
        </p>
      </section>
      {options.map((o) => <ConnectOptionCard key={o.key} o={o} busy={busy} />)}
    </SubPage>
  );
}
