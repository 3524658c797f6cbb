// What every portal form action shares: turn the core's expected errors into a message for
// the person, with a status. Anything else is a bug and goes to the error page. (Posts from
// other sites never reach an action: portal/http/security.ts refuses them for every route.)
import { json } from '@remix-run/node';

const STATUS: Record<string, number> = { bad_input: 400, not_found: 404, conflict: 409 };

export function expectedError(e: unknown) {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== 'string' || !(code in STATUS)) return null;
  return json({ ok: false as const, message: (e as Error).message }, { status: STATUS[code] });
}
