// Portal sessions: a signed cookie holding who is signed in (workspace, email, role).
import { createCookieSessionStorage } from '@remix-run/node';

export function sessionStorage(secret: string, secure: boolean) {
  return createCookieSessionStorage<{ workspaceId: string; email: string; role: string }>({
    cookie: { name: '__pivotal', httpOnly: true, sameSite: 'lax', path: '/', secrets: [secret], secure, maxAge: 60 * 60 * 24 * 14 },
  });
}

/** The member signed in on this request, looked up afresh (a removed member or changed role counts at once). */
export async function signedInMember(pivotal: { sessionSecret: string; secureCookies: boolean; memberOf: (ws: string, email: string) => Promise<{ workspaceId: string; email: string; role: string } | null> }, request: Request) {
  const session = await sessionStorage(pivotal.sessionSecret, pivotal.secureCookies).getSession(request.headers.get('Cookie'));
  const workspaceId = session.get('workspaceId');
  const email = session.get('email');
  return workspaceId && email ? pivotal.memberOf(workspaceId, email) : null;
}
