// The members page's rules: who is in the workspace, role changes that keep exactly one
// owner (only the owner hands ownership on, and becomes an admin), and removal (never the
// owner). Invitations are sign-in links (core/auth/login.ts).
import { z } from 'zod';
import { MEMBER_ROLES, type MemberRole } from '../models/workspace.ts';
import { AppError } from '../errors.ts';
import { getWorkspace } from './workspaces.ts';

const email = z.string().trim().toLowerCase().email('That is not an email address');

export async function listMembers(workspaceId: string) {
  const ws = await getWorkspace(workspaceId);
  const order = { owner: 0, admin: 1, member: 2 } as Record<string, number>;
  return [...ws.members]
    .sort((a, b) => (order[a.role] ?? 3) - (order[b.role] ?? 3) || a.email.localeCompare(b.email))
    .map((m) => ({ email: m.email, name: m.name ?? '', role: m.role as MemberRole, slack_user_id: m.slack_user_id ?? null, added_at: m.added_at ? new Date(m.added_at).toISOString() : null }));
}

/** Changes a member's role as `actor`; making someone owner moves ownership (the old owner becomes admin). */
export async function changeMemberRole(workspaceId: string, actor: { email: string; role: string }, target: string, role: string) {
  if (!(MEMBER_ROLES as readonly string[]).includes(role)) throw new AppError('bad_input', `Role must be one of ${MEMBER_ROLES.join(', ')}`);
  const who = email.safeParse(target);
  if (!who.success) throw new AppError('bad_input', who.error.issues[0]!.message);
  const ws = await getWorkspace(workspaceId);
  const member = ws.members.find((m) => m.email === who.data);
  if (!member) throw new AppError('not_found', `${who.data} is not a member of this workspace`);
  if (member.role === role) return;
  if (member.role === 'owner') throw new AppError('conflict', 'A workspace has exactly one owner: make someone else the owner instead');
  if (role === 'owner') {
    if (actor.role !== 'owner') throw new AppError('forbidden', 'Only the owner can hand ownership on');
    for (const m of ws.members) if (m.role === 'owner') m.role = 'admin';
  }
  member.role = role as MemberRole;
  await ws.save();
}

/** Removes a member; their sign-in stops working at once (sessions are checked against the member list). */
export async function removeMember(workspaceId: string, target: string) {
  const who = email.safeParse(target);
  if (!who.success) throw new AppError('bad_input', who.error.issues[0]!.message);
  const ws = await getWorkspace(workspaceId);
  const member = ws.members.find((m) => m.email === who.data);
  if (!member) throw new AppError('not_found', `${who.data} is not a member of this workspace`);
  if (member.role === 'owner') throw new AppError('conflict', 'The owner cannot be removed: make someone else the owner first');
  ws.members.pull(member._id);
  await ws.save();
}
