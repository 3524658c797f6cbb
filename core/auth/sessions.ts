// Portal sessions kept in MongoDB: signing in creates one, the cookie holds only its random
// id, and signing out deletes it, so a copied cookie stops working at once. Removing a
// member or changing their role counts on the next request (memberOf reads afresh).
import { Types } from 'mongoose';
import { PortalSession } from '../models/auth.ts';
import { randomToken, sha256 } from '../crypto.ts';
import { consumeLoginToken, memberOf, type SignedInMember } from './login.ts';

export const SESSION_TTL_MS = 14 * 24 * 3_600_000;

/** Starts a session for a member; returns the id to put in the cookie. */
export async function createSession(member: SignedInMember): Promise<{ id: string; expiresAt: Date }> {
  const id = randomToken(32);
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await PortalSession.create({ id_hash: sha256(id), workspace_id: new Types.ObjectId(member.workspaceId), email: member.email, expires_at: expiresAt });
  return { id, expiresAt };
}

/** The member a session id belongs to, or null when it is unknown, ended or expired. */
export async function sessionMember(id: string | null | undefined): Promise<SignedInMember | null> {
  if (!id || !/^[A-Za-z0-9_-]{20,100}$/.test(id)) return null;
  const s = await PortalSession.findOne({ id_hash: sha256(id), expires_at: { $gt: new Date() } }, { workspace_id: 1, email: 1 }).lean();
  return s ? memberOf(s.workspace_id, s.email) : null;
}

/** Ends one session (sign-out). */
export async function endSession(id: string | null | undefined): Promise<void> {
  if (id) await PortalSession.deleteOne({ id_hash: sha256(id) });
}

/** Ends every session of a member (e.g. after they were removed or their link leaked). */
export async function endMemberSessions(workspaceId: string, email: string): Promise<number> {
  const r = await PortalSession.deleteMany({ workspace_id: new Types.ObjectId(workspaceId), email: email.toLowerCase() });
  return r.deletedCount;
}

/** Uses a one-time sign-in link and starts the member's session. */
export async function signInWithLink(token: string): Promise<{ member: SignedInMember; sessionId: string; expiresAt: Date }> {
  const member = await consumeLoginToken(token);
  const { id, expiresAt } = await createSession(member);
  return { member, sessionId: id, expiresAt };
}
