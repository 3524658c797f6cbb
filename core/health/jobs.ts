// The health jobs on Agenda: a recompute of one workspace on request, the nightly run at
// 02:00 workspace time, and the minute-by-minute rescoring of customers whose signals
// changed. The nightly check runs every 5 minutes for all workspaces, so new workspaces and
// timezone changes need no rescheduling; claiming the local day per workspace with a
// conditional update keeps it to one run a night however many workers there are.
import { Types } from 'mongoose';
import { defineJob, enqueue, scheduleRepeating } from '../jobs/agenda.ts';
import { Workspace } from '../models/workspace.ts';
import { HealthState } from '../models/health.ts';
import { log } from '../log.ts';
import { recomputeChangedHealth, recomputeWorkspaceHealth } from './recompute.ts';

export const HEALTH_RECOMPUTE_JOB = 'health.recompute';
const NIGHTLY_HOUR = 2;

/** The local day whose nightly run is due now, or null before 02:00 local time. */
export function nightlyDayDue(now: Date, timezone: string): string | null {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-CA', { timeZone: timezone || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  } catch {
    return nightlyDayDue(now, 'UTC'); // a timezone the runtime does not know: run on UTC time
  }
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return Number(get('hour')) >= NIGHTLY_HOUR ? `${get('year')}-${get('month')}-${get('day')}` : null;
}

async function claimNightly(workspaceId: Types.ObjectId, day: string): Promise<boolean> {
  await HealthState.updateOne({ workspace_id: workspaceId }, { $setOnInsert: { nightly_day: null } }, { upsert: true });
  const res = await HealthState.updateOne({ workspace_id: workspaceId, nightly_day: { $ne: day } }, { $set: { nightly_day: day } });
  return res.modifiedCount === 1;
}

export async function runDueNightlyRecomputes(now = new Date()): Promise<number> {
  let queued = 0;
  for await (const ws of Workspace.find({}, { _id: 1, timezone: 1 }).lean().cursor()) {
    const day = nightlyDayDue(now, ws.timezone);
    if (day && (await claimNightly(ws._id, day))) {
      await enqueue(HEALTH_RECOMPUTE_JOB, { workspace_id: String(ws._id), trigger: 'nightly' }, { unique: { name: HEALTH_RECOMPUTE_JOB, 'data.workspace_id': String(ws._id), nextRunAt: { $ne: null } } });
      queued++;
    }
  }
  return queued;
}

export function defineHealthJobs(): void {
  defineJob<{ workspace_id: string; trigger?: string }>(HEALTH_RECOMPUTE_JOB, async (data, ctx) => {
    const summary = await recomputeWorkspaceHealth(new Types.ObjectId(data.workspace_id), { onBatch: () => ctx.touch() });
    log.info({ ...summary, trigger: data.trigger ?? 'manual' }, 'health recomputed');
  });
  defineJob('health.nightly', async () => {
    await runDueNightlyRecomputes();
  });
  defineJob('health.changes', async () => {
    for await (const ws of Workspace.find({}, { _id: 1 }).lean().cursor()) {
      const s = await recomputeChangedHealth(ws._id);
      if (s.scored + s.unscored) log.debug(s, 'health rescored after signal changes');
    }
  });
}

export async function scheduleHealthJobs(): Promise<void> {
  await scheduleRepeating('health.nightly', '5 minutes', { kind: 'nightly' }, { unique: { name: 'health.nightly' } });
  await scheduleRepeating('health.changes', '1 minute', { kind: 'changes' }, { unique: { name: 'health.changes' } });
}
