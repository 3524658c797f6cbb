// /billing: the domains several Stripe customers pay for. Until an admin decides, their MRR
// is added onto one Pivotal customer; here the admin keeps one Stripe customer or splits
// the Pivotal customer so each Stripe customer bills onto its own. Later syncs respect it.
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { z } from 'zod';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { expectedError } from '../forms.server.ts';

const canResolve = (role: string) => role === 'owner' || role === 'admin';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  return json({
    member: { email: member.email, role: member.role },
    canResolve: canResolve(member.role),
    // A member sees only the domains of customers they own.
    matches: await pivotal.workspaceAmbiguities(member.workspaceId, member),
  });
}

const decision = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('winner'), match: z.string().regex(/^[a-f0-9]{24}$/), winner: z.string().regex(/^cus_[A-Za-z0-9]+$/) }),
  z.object({ intent: z.literal('split'), match: z.string().regex(/^[a-f0-9]{24}$/) }),
]);

export async function action({ context, request }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  if (!canResolve(member.role)) return json({ ok: false, message: 'Only workspace owners and admins can settle billing matches.' }, { status: 403 });
  const parsed = decision.safeParse(Object.fromEntries(await request.formData()));
  if (!parsed.success) return json({ ok: false, message: 'Choose a Stripe customer to keep, or split the customer.' }, { status: 400 });
  const d = parsed.data;
  try {
    const r = await pivotal.resolveWorkspaceAmbiguity(member.workspaceId, d.intent === 'winner' ? { id: d.match, winner: d.winner } : { id: d.match, split: true });
    return json({ ok: true, message: r.message });
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const money = (cents: number) => `${usd.format(cents / 100)}/mo`;

export default function BillingMatches() {
  const { member, canResolve, matches } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  return (
    <SubPage member={member} result={result}>
      <section className="card">
        <h1>Billing matches</h1>
        <p className="muted">
          These domains are paid for by several Stripe customers. Until you decide, their MRR is added together on one Pivotal
          customer. Keep one Stripe customer (the others stop counting), or split the customer so each Stripe customer bills onto
          its own. Later syncs keep your decision.
        </p>
        {!canResolve && matches.length ? <p className="muted">Ask a workspace owner or admin to settle these.</p> : null}
      </section>
      {matches.length === 0 ? (
        <section className="card">
          <p>No domain needs a decision.</p>
        </section>
      ) : null}
      {matches.map((m) => (
        <section className="card match" key={m.id} aria-label={m.domain}>
          <h2>
            {m.domain}
            {m.mode === 'test' ? <span className="pill test">test mode</span> : null}
          </h2>
          <p>
            {m.customer ? `${m.customer.name} (#${m.customer.display_id})` : 'No Pivotal customer'} · merged MRR{' '}
            <strong>{money(m.merged_mrr)}</strong> from {m.candidates.length} Stripe customers
          </p>
          <table className="grid">
            <thead>
              <tr>
                <th>Stripe customer</th>
                <th>Email</th>
                <th>MRR</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {m.candidates.map((c) => (
                <tr key={c.stripe_customer_id}>
                  <td>
                    {c.name ?? c.stripe_customer_id}{' '}
                    {c.dashboard_url ? (
                      <a className="muted" href={c.dashboard_url} target="_blank" rel="noreferrer">
                        {c.stripe_customer_id}
                      </a>
                    ) : null}
                  </td>
                  <td>{c.email ?? '—'}</td>
                  <td>{money(c.mrr)}</td>
                  <td>
                    {canResolve ? (
                      <Form method="post">
                        <input type="hidden" name="intent" value="winner" />
                        <input type="hidden" name="match" value={m.id} />
                        <input type="hidden" name="winner" value={c.stripe_customer_id} />
                        <button type="submit" disabled={busy}>
                          Keep only this one
                        </button>
                      </Form>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {canResolve ? (
            <Form method="post" className="split">
              <input type="hidden" name="intent" value="split" />
              <input type="hidden" name="match" value={m.id} />
              <button type="submit" className="secondary" disabled={busy}>
                Split into {m.candidates.length} customers
              </button>
              <span className="muted"> The biggest payer stays on {m.customer?.name ?? 'the customer'}; each other one gets its own.</span>
            </Form>
          ) : null}
        </section>
      ))}
    </SubPage>
  );
}
