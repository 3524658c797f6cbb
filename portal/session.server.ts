// Portal sessions: a signed, httpOnly cookie holding only the id of a session kept in
// MongoDB (core/auth/sessions.ts), so signing out ends it everywhere.
import { createCookie } from '@remix-run/node';
import type { SignedInMember } from '../core/auth/login.ts';

interface SessionContext {
  sessionSecret: string;
  secureCookies: boolean;
  sessionMember: (id: string | null) => Promise<SignedInMember | null>;
}

const sessionCookie = (pivotal: Pick<SessionContext, 'sessionSecret' | 'secureCookies'>) =>
  createCookie('__pivotal', { httpOnly: true, sameSite: 'lax', path: '/', secrets: [pivotal.sessionSecret], secure: pivotal.secureCookies, maxAge: 60 * 60 * 24 * 14 });

/** The session id in a Cookie header, if it carries a validly signed one. */
export async function sessionIdFrom(pivotal: Pick<SessionContext, 'sessionSecret' | 'secureCookies'>, cookieHeader: string | null | undefined): Promise<string | null> {
  const value: unknown = await sessionCookie(pivotal).parse(cookieHeader ?? null);
  return typeof value === 'string' ? value : null;
}

/** The member signed in on this request, looked up afresh (a removed member, a changed role or a sign-out counts at once). */
export async function signedInMember(pivotal: SessionContext, request: Request | { headers: { cookie?: string } }) {
  const header = request.headers instanceof Headers ? request.headers.get('Cookie') : (request.headers as { cookie?: string }).cookie;
  return pivotal.sessionMember(await sessionIdFrom(pivotal, header));
}

/** Set-Cookie for a new session. */
export function sessionSetCookie(pivotal: Pick<SessionContext, 'sessionSecret' | 'secureCookies'>, sessionId: string, expiresAt: Date): Promise<string> {
  return sessionCookie(pivotal).serialize(sessionId, { expires: expiresAt });
}

/** Set-Cookie that removes the session cookie. */
export function sessionClearCookie(pivotal: Pick<SessionContext, 'sessionSecret' | 'secureCookies'>): Promise<string> {
  return sessionCookie(pivotal).serialize('', { maxAge: 0, expires: new Date(0) });
}

/** The OAuth connect nonce: ties a provider's callback to the browser that started it. */
export const connectNonceCookie = (pivotal: Pick<SessionContext, 'sessionSecret' | 'secureCookies'>) =>
  createCookie('__pivotal_connect', { httpOnly: true, sameSite: 'lax', path: '/connect/', secrets: [pivotal.sessionSecret], secure: pivotal.secureCookies, maxAge: 10 * 60 });
