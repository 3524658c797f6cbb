// /login/:token: a one-time sign-in link. Opening it only asks to confirm (link previewers
// in Slack or mail open links too, and must not use them up); the button posts, which uses
// the link once and starts a session.
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { sessionSetCookie } from '../session.server.ts';

const refusal = (e: unknown) => (e instanceof Error && (e as { code?: string }).code === 'unauthorized' ? e.message : 'This sign-in link is not valid');

export async function loader({ params, context }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  try {
    const who = await pivotal.describeLoginToken(params.token ?? '');
    return json({ ok: true as const, ...who });
  } catch (e) {
    return json({ ok: false as const, error: refusal(e) }, { status: 401 });
  }
}

export async function action({ params, context }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  try {
    const { sessionId, expiresAt } = await pivotal.signInWithLink(params.token ?? '');
    return redirect('/', { headers: { 'Set-Cookie': await sessionSetCookie(pivotal, sessionId, expiresAt), 'Cache-Control': 'no-store' } });
  } catch (e) {
    return json({ ok: false as const, error: refusal(e) }, { status: 401 });
  }
}

export default function Login() {
  const data = useLoaderData<typeof loader>();
  const failed = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  const error = failed?.error ?? (data.ok ? null : data.error);
  return (
    <main>
      <section className="card">
        {error || !data.ok ? (
          <>
            <h1>Sign-in link not accepted</h1>
            <p>{error}</p>
          </>
        ) : (
          <>
            <h1>Sign in to {data.workspaceName}</h1>
            <p>{`This one-time link signs you in as ${data.email}.`}</p>
            <Form method="post">
              <button type="submit" disabled={busy}>
                {busy ? 'Signing in…' : 'Sign in'}
              </button>
            </Form>
          </>
        )}
      </section>
    </main>
  );
}
