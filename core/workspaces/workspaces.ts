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

/**
 * Adds a member (or changes an existing member's role). A workspace has exactly one
 * owner: making someone owner demotes the previous owner to admin.
 */
export async function upsertMember(workspaceId: string | Types.ObjectId, input: { email: string; role: MemberRole; name?: string }) {
  const email = z.string().trim().toLowerCase().email(`"${input.email}" is not an email address`).safeParse(input.email);
  if (!email.success) throw new AppError('bad_input', email.error.issues[0]!.message);
  const ws = await getWorkspace(workspaceId);
  if (input.role === 'owner') {
    for (const m of ws.members) if (m.role === 'owner' && m.email !== email.data) m.role = 'admin';
  }
  let member = ws.members.find((m) => m.email === email.data);
  if (member) {
    member.role = input.role;
    if (input.name) member.name = input.name;
  } else {
    ws.members.push({ email: email.data, role: input.role, name: input.name ?? '' });
    member = ws.members[ws.members.length - 1]!;
  }
  if (!ws.members.some((m) => m.role === 'owner')) member.role = 'owner';
  await ws.save();
  return { workspace: ws, member };
}
