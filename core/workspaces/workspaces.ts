// Workspaces and their members.
import { Types } from 'mongoose';
import { z } from 'zod';
import { ensureDisplayIdCounter } from '../models/counter.ts';
import { Workspace, type MemberRole } from '../models/workspace.ts';
import { AppError, isDuplicateKeyError } from '../errors.ts';

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const createWorkspaceInput = z.object({
  name: z.string().trim().min(1, 'name must not be empty').max(120, 'name is at most 120 characters'),
  timezone: z
    .string()
    .default('UTC')
    .superRefine((tz, ctx) => {
      if (!isValidTimezone(tz)) ctx.addIssue({ code: 'custom', message: `unknown timezone "${tz}" (use an IANA name such as Europe/Paris)` });
    }),
});

function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return base || 'workspace';
}

export async function createWorkspace(input: z.input<typeof createWorkspaceInput>) {
  const parsed = createWorkspaceInput.safeParse(input);
  if (!parsed.success) throw new AppError('bad_input', parsed.error.issues[0]!.message);
  const base = slugify(parsed.data.name);
  for (let attempt = 0; attempt < 20; attempt++) {
    const slug = attempt === 0 ? base : `${base}-${attempt + 1}`;
    try {
      const ws = await Workspace.create({ name: parsed.data.name, slug, timezone: parsed.data.timezone });
      await ensureDisplayIdCounter(ws._id);
      return ws;
    } catch (e) {
      if (isDuplicateKeyError(e)) continue;
      throw e;
    }
  }
  throw new AppError('conflict', `Could not find a free slug for "${parsed.data.name}"`);
}

export function parseObjectId(id: string, what: string): Types.ObjectId {
  if (!Types.ObjectId.isValid(id) || !/^[0-9a-f]{24}$/i.test(id)) throw new AppError('bad_input', `${what} "${id}" is not a valid id (24 hex characters)`);
  return new Types.ObjectId(id);
}

export async function getWorkspace(id: string | Types.ObjectId) {
  const _id = typeof id === 'string' ? parseObjectId(id, 'workspace') : id;
  const ws = await Workspace.findById(_id);
  if (!ws) throw new AppError('not_found', `No workspace with id ${String(_id)}`);
  return ws;
}

export interface MemberChange {
  workspace: Awaited<ReturnType<typeof getWorkspace>>;
  member: Awaited<ReturnType<typeof getWorkspace>>['members'][number];
  /** the member's role before (null: a new member) */
  previousRole: MemberRole | null;
  /** what changed, in words, for the person who asked (empty: nothing did) */
  changes: string[];
}

/**
 * Adds a member, or changes an existing member's role when a role is given (without one,
 * their role stays). A workspace has exactly one owner, and moving it is explicit: making
 * someone owner while another member is needs `transferOwnership` (the previous owner
 * becomes an admin), and the owner cannot step down before someone else takes over.
 * A workspace without an owner makes its first member the owner.
 */
export async function upsertMember(workspaceId: string | Types.ObjectId, input: { email: string; role?: MemberRole; name?: string; transferOwnership?: boolean }): Promise<MemberChange> {
  const email = z.string().trim().toLowerCase().email(`"${input.email}" is not an email address`).safeParse(input.email);
  if (!email.success) throw new AppError('bad_input', email.error.issues[0]!.message);
  const ws = await getWorkspace(workspaceId);
  let member = ws.members.find((m) => m.email === email.data);
  const previousRole = (member?.role as MemberRole | undefined) ?? null;
  const owner = ws.members.find((m) => m.role === 'owner');
  const changes: string[] = [];
  let role: MemberRole = input.role ?? previousRole ?? 'admin';
  if (role === 'owner' && owner && owner.email !== email.data) {
    if (!input.transferOwnership) {
      throw new AppError('conflict', `${owner.email} is this workspace's owner; to make ${email.data} the owner instead, ask again with --transfer-ownership (${owner.email} becomes an admin)`);
    }
    owner.role = 'admin';
    changes.push(`${owner.email} is no longer the owner (now admin)`);
  }
  if (previousRole === 'owner' && role !== 'owner') {
    throw new AppError('conflict', `${email.data} is this workspace's only owner; make someone else the owner first (--role owner --transfer-ownership), which makes ${email.data} an admin`);
  }
  if (!owner && role !== 'owner') {
    changes.push(`${email.data} becomes the owner: the workspace had none, and needs exactly one`);
    role = 'owner';
  }
  if (member) {
    if (role !== previousRole) changes.push(`${email.data}'s role changed from ${previousRole} to ${role}`);
    member.role = role;
    if (input.name) member.name = input.name;
  } else {
    ws.members.push({ email: email.data, role, name: input.name ?? '' });
    member = ws.members[ws.members.length - 1]!;
    changes.push(`${email.data} added as ${role}`);
  }
  await ws.save();
  return { workspace: ws, member, previousRole, changes };
}

/** Every workspace (operators' `pivotal workspace list`): id, name, slug, timezone. */
export async function listWorkspaces() {
  const all = await Workspace.find({}, { name: 1, slug: 1, timezone: 1 }).sort({ createdAt: 1 }).lean();
  return all.map((w) => ({ id: String(w._id), name: w.name, slug: w.slug, timezone: w.timezone }));
}
