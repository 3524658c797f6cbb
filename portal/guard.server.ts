// The one place portal routes check who may do what: a signed-in member for every page,
// an owner or admin for admin pages and every change (403 otherwise, checked on the server).
import { json, redirect } from '@remix-run/node';
import type { PortalContext } from './context.server.ts';
import { signedInMember } from './session.server.ts';

export const isAdmin = (role: string) => role === 'owner' || role === 'admin';

export async function requireMember(pivotal: PortalContext, request: Request) {
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  return member;
}

/** Admin pages: a member gets a 403 page, not the data. */
export async function requireAdminPage(pivotal: PortalContext, request: Request) {
  const member = await requireMember(pivotal, request);
  if (!isAdmin(member.role)) throw new Response('Only workspace owners and admins can open this page.', { status: 403 });
  return member;
}

/** Admin actions: a member's post is answered 403 with the reason, and changes nothing. */
export async function requireAdminAction(pivotal: PortalContext, request: Request) {
  const member = await requireMember(pivotal, request);
  if (!isAdmin(member.role)) throw json({ ok: false as const, message: 'Only workspace owners and admins can do this.' }, { status: 403 });
  return member;
}

/** A core "not found" (e.g. another workspace's connection) as the 404 page. */
export function notFoundAs404(e: unknown): never {
  if ((e as { code?: string }).code === 'not_found') throw new Response((e as Error).message, { status: 404 });
  throw e;
}
