// Agenda's job locking made safe on FerretDB v1. Agenda locks a job with one
// findOneAndUpdate({lockedAt: null, …}); MongoDB runs that atomically, but FerretDB v1
// does not (measured: several concurrent "winners"), so two workers could run one job.
// Here the lock is decided by an insert into a collection whose _id names exactly one
// lock attempt — (job, scheduled time, previous lock) — and the unique _id lets one
// worker win on either engine. A lock that expired (its worker died) has a different
// previous-lock value, so exactly one other worker can take the job over.
import { toJobId } from 'agenda';
import type { Collection, Db, Document } from 'mongodb';
import { isDuplicateKeyError } from '../errors.ts';

export const CLAIMS_COLLECTION = 'agenda_job_claims';

function toJobObj(doc: Document): any {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) out[k] = v === null ? undefined : v;
  out._id = toJobId(doc._id.toHexString());
  return out;
}

const stamp = (d: unknown) => (d instanceof Date ? String(d.getTime()) : 'none');

async function claim(claims: Collection<Document>, doc: Document): Promise<boolean> {
  const key = `${doc._id.toHexString()}:${stamp(doc.nextRunAt)}:${stamp(doc.lockedAt)}`;
  try {
    await claims.insertOne({ _id: key as any, job_id: doc._id, at: new Date() });
    return true;
  } catch (e) {
    if (isDuplicateKeyError(e)) return false;
    throw e;
  }
}

export function installClaimLocking(repository: any, db: Db): void {
  const claims = db.collection(CLAIMS_COLLECTION);
  const jobs = (): Collection<Document> => repository.collection;

  async function lockDoc(doc: Document, options?: { lastModifiedBy?: string }, lockTime = new Date()) {
    if (!(await claim(claims, doc))) return undefined;
    const set = { lockedAt: lockTime, lastModifiedBy: options?.lastModifiedBy ?? null };
    await jobs().updateOne({ _id: doc._id }, { $set: set });
    return toJobObj({ ...doc, ...set });
  }

  repository.getNextJobToRun = async (jobName: string, nextScanAt: Date, lockDeadline: Date, now?: Date, options?: { lastModifiedBy?: string }) => {
    const query = {
      name: jobName,
      disabled: { $ne: true },
      $or: [{ lockedAt: { $eq: null }, nextRunAt: { $lte: nextScanAt } }, { lockedAt: { $lte: lockDeadline } }],
    };
    const candidates = await jobs().find(query).sort(repository.connectOptions?.sort ?? { nextRunAt: 1, priority: -1 }).limit(5).toArray();
    for (const doc of candidates) {
      const locked = await lockDoc(doc, options, now ?? new Date());
      if (locked) return locked;
    }
    return undefined;
  };

  repository.lockJob = async (job: { _id?: unknown; name: string; nextRunAt?: Date | null }, options?: { lastModifiedBy?: string }) => {
    if (!job._id) return undefined;
    const { ObjectId } = await import('mongodb');
    const doc = await jobs().findOne({ _id: new ObjectId(String(job._id)), name: job.name, lockedAt: null, nextRunAt: job.nextRunAt ?? null, disabled: { $ne: true } });
    if (!doc) return undefined;
    return lockDoc(doc, options);
  };
}

/** Claims older than any lock lifetime are history; the maintenance job removes them. */
export async function pruneClaims(db: Db, olderThanMs = 2 * 86_400_000): Promise<number> {
  const res = await db.collection(CLAIMS_COLLECTION).deleteMany({ at: { $lt: new Date(Date.now() - olderThanMs) } });
  return res.deletedCount ?? 0;
}
