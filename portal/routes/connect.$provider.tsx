// /connect/:provider when the provider's OAuth app is not configured on this instance
// (portal/http/connect.ts hands the request over): a 503 page that names the variables an
// operator sets to turn OAuth on, and offers the token form so the admin is not stuck.
import { json, type LoaderFunctionArgs } from '@remix-run/node';
import { useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { ConnectOptionCard } from '../components/connect-option.tsx';
import { requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  const role = new URL(request.url).searchParams.get('role') === 'billing_signal' ? 'billing_signal' : 'customer_source';
  const options = pivotal.connections.options().filter((o) => o.provider === params.provider);
  if (!options.length) throw new Response(`Pivotal cannot connect "${params.provider}"`, { status: 404 });
  const sorted = [...options].sort((a, b) => (a.role === role ? -1 : b.role === role ? 1 : 0));
  return json({ member: { email: member.email, role: member.role }, options: sorted }, { status: 503 });
}

export default function OAuthNotConfigured() {
  const { member, options } = useLoaderData<typeof loader>();
  const busy = useNavigation().state !== 'idle';
  const first = options[0]!;
  const name = first.label.split(' (')[0];
  return (
    <SubPage member={member}>
      <section className="card">
        <h1>{name} OAuth is not configured</h1>
        <p>
          This Pivotal instance has no {name} app to sign in with. An operator can turn it on by setting{' '}
          {first.oauthVariables.map((v, i) => (
            <span key={v}>
              {i ? ' and ' : ''}
              <code>{v}</code>
            </span>
          ))}{' '}
          and restarting Pivotal. Until then, connect with a token below — it works the same.
        </p>
      </section>
      {options.map((o) => <ConnectOptionCard key={o.key} o={o} busy={busy} />)}
    </SubPage>
  );
}
