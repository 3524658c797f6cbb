// Portal sessions: a signed cookie holding who is signed in (workspace, email, role).
import { createCookieSessionStorage } from '@remix-run/node';

export function sessionStorage(secret: string, secure: boolean) {
  return createCookieSessionStorage<{ workspaceId: string; email: string; role: string }>({
    cookie: { name: '__pivotal', httpOnly: true, sameSite: 'lax', path: '/', secrets: [secret], secure, maxAge: 60 * 60 * 24 * 14 },
  });
}
