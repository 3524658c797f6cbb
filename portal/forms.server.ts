// What every portal form action shares: refuse posts from other sites (the session cookie
// is SameSite=Lax; this is the second lock), and turn the core's expected errors into a
// message for the person, with a status. Anything else is a bug and goes to the error page.
import { json } from '@remix-run/node';

export function foreignPost(request: Request, appUrl: string) {
  const origin = request.headers.get('Origin');
  if (!origin || origin === new URL(request.url).origin || origin === new URL(appUrl).origin) return null;
  return json({ ok: false as const, message: 'This form was sent from another site and was ignored.' }, { status: 403 });
}

const STATUS: Record<string, number> = { bad_input: 400, not_found: 404, conflict: 409 };

export function expectedError(e: unknown) {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== 'string' || !(code in STATUS)) return null;
  return json({ ok: false as const, message: (e as Error).message }, { status: STATUS[code] });
}
