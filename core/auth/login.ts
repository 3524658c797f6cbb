// Portal sign-in by one-time link: an invite adds (or updates) the member and mints a
// link valid for 24 hours that works once. Opening the link only shows who it signs in
// (link previewers and mail scanners open links too); the sign-in is a POST.
import { Types } from 'mongoose';
import { LoginToken } from '../models/auth.ts';
import { Workspace, MEMBER_ROLES, type MemberRole } from '../models/workspace.ts';
import { upsertMember } from '../workspaces/workspaces.ts';
import { randomToken, sha256 } from '../crypto.ts';
import { env } from '../env.ts';
import { AppError } from '../errors.ts';

export const LOGIN_LINK_TTL_MS = 24 * 3_600_000;

/** Adds the member (or changes their role when one is given; see upsertMember) and mints their link. */
export async function inviteMember(input: { workspaceId: string; email: string; role?: string; transferOwnership?: boolean }) {
  const role = input.role as MemberRole | undefined;
  if (role !== undefined && !MEMBER_ROLES.includes(role)) throw new AppError('bad_input', `--role must be one of ${MEMBER_ROLES.join(', ')} (got "${input.role}")`);
  const { workspace, member, previousRole, changes } = await upsertMember(input.workspaceId, { email: input.email, role, transferOwnership: input.transferOwnership });
  const token = randomToken(32);
  const expiresAt = new Date(Date.now() + LOGIN_LINK_TTL_MS);
  await LoginToken.create({ token_hash: sha256(token), workspace_id: workspace._id, email: member.email, expires_at: expiresAt });
  const link = new URL(`/login/${token}`, env().APP_URL).toString();
  return { link, workspaceId: String(workspace._id), email: member.email, role: member.role, previousRole, changes, expiresAt };
}

export interface SignedInMember {
  workspaceId: string;
  email: string;
  role: MemberRole;
}

/** Who a link would sign in, without using it; expired, used or unknown links are refused alike. */
export async function describeLoginToken(token: string): Promise<{ email: string; workspaceName: string }> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw new AppError('unauthorized', 'This sign-in link is not valid');
  const doc = await LoginToken.findOne({ token_hash: sha256(token), used_at: null, expires_at: { $gt: new Date() } }, { workspace_id: 1, email: 1 }).lean();
  if (!doc) throw new AppError('unauthorized', 'This sign-in link has expired or was already used; ask an admin for a new one');
  const ws = await Workspace.findById(doc.workspace_id, { name: 1 }).lean();
  if (!ws) throw new AppError('unauthorized', 'This sign-in link is not valid');
  return { email: doc.email, workspaceName: ws.name };
}

/** Consumes a link token once (one atomic update, so concurrent uses get one winner); expired, used or unknown tokens are refused alike. */
export async function consumeLoginToken(token: string): Promise<SignedInMember> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw new AppError('unauthorized', 'This sign-in link is not valid');
  const now = new Date();
  const doc = await LoginToken.findOneAndUpdate({ token_hash: sha256(token), used_at: null, expires_at: { $gt: now } }, { $set: { used_at: now } }, { returnDocument: 'after' }).lean();
  if (!doc) throw new AppError('unauthorized', 'This sign-in link has expired or was already used; ask an admin for a new one');
  const member = await memberOf(doc.workspace_id, doc.email);
  if (!member) throw new AppError('unauthorized', 'You are no longer a member of this workspace');
  return member;
}

export async function memberOf(workspaceId: Types.ObjectId | string, email: string): Promise<SignedInMember | null> {
  const ws = await Workspace.findById(workspaceId, { members: 1 }).lean();
  const m = ws?.members.find((x) => x.email === email);
  return m ? { workspaceId: String(workspaceId), email: m.email, role: m.role as MemberRole } : null;
}
