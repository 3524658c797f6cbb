// `pivotal customers status|history` and `pivotal health recompute` as subprocesses: a
// status change is one Activity row, one status event and one writeback job; the history
// comes back with exactly the contract's CSV columns; bad input is one line and changes nothing.
import mongoose, { Types } from 'mongoose';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { createCustomers } from '../../core/customers/customers.ts';
import { Customer } from '../../core/models/customer.ts';
import { Activity } from '../../core/models/activity.ts';
import { DomainEvent } from '../../core/models/events.ts';
import { upsertMember } from '../../core/workspaces/workspaces.ts';
import { JOBS_COLLECTION } from '../../core/jobs/agenda.ts';

const db = useTestDatabase('status_cli');
const cli = (args: string[]) => runCli(args, { MONGODB_URI: db.uri });
let workspaceId = '';
let acmeId: Types.ObjectId;

beforeAll(async () => {
  const r = await cli(['workspace', 'create', '--name', 'Status CS', '--json']);
  workspaceId = r.json().id;
  await upsertMember(workspaceId, { email: 'csm@status.example', role: 'member' });
  const [acme] = await createCustomers(new Types.ObjectId(workspaceId), [
    { name: 'Acme', domain: 'acme.example', billing: { mrr: 50_000, payment_status: 'paid' } },
    { name: 'Acme Labs', domain: 'acmelabs.example' },
  ]);
  acmeId = acme!._id;
});

describe('customers status', () => {
  it('records one history row, one status event and one writeback', async () => {
    const r = await cli(['customers', 'status', '--workspace', workspaceId, 'acme.example', '--to', 'at_risk', '--reason', 'Champion left, "urgent"', '--actor', 'csm@status.example', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ changed: true, previous: 'active', status: 'at_risk', customer: { name: 'Acme', status: 'at_risk' } });
    const rows = await Activity.find({ customer_id: acmeId }).lean();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'csm@status.example', actor_type: 'user', event_type: 'status_changed', field: 'status', old_value: 'active', new_value: 'at_risk' });
    expect(await DomainEvent.countDocuments({ customer_id: acmeId, type: 'customer.status_changed' })).toBe(1);
    const writebacks = await mongoose.connection.db!.collection(JOBS_COLLECTION).countDocuments({ name: 'sync.writeback', 'data.customer_id': String(acmeId) });
    expect(writebacks).toBe(1);

    const again = await cli(['customers', 'status', '--workspace', workspaceId, '#' + (await Customer.findById(acmeId).lean())!.display_id, '--to', 'at_risk', '--json']);
    expect(again.json()).toMatchObject({ changed: false });
    expect(await Activity.countDocuments({ customer_id: acmeId })).toBe(1);
  });

  it('refuses bad input with one line and changes nothing', async () => {
    for (const [args, pattern] of [
      [['--to', 'gone', 'acme.example'], /--to must be one of active, at_risk, churned/],
      [['--to', 'churned', 'acm'], /matches several customers/],
      [['--to', 'churned', 'zzzz-nothing'], /no customer matches/],
      [['--to', 'churned', '--actor', 'stranger@else.example', 'acme.example'], /not a member/],
      [['--to', 'churned', '--actor', 'not-an-email', 'acme.example'], /must be an email/],
    ] as [string[], RegExp][]) {
      const r = await cli(['customers', 'status', '--workspace', workspaceId, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
    expect((await Customer.findById(acmeId).lean())!.status).toBe('at_risk');
  });
});

describe('customers history', () => {
  it('prints the history as CSV with exactly the contract columns, and as JSON', async () => {
    const csv = await cli(['customers', 'history', '--workspace', workspaceId, 'acme.example', '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('timestamp,actor,actor_type,event_type,field,old_value,new_value');
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z,csm@status\.example,user,status_changed,status,active,at_risk$/);
    const json = await cli(['customers', 'history', '--workspace', workspaceId, 'acme.example', '--json']);
    expect(json.json().history).toHaveLength(1);
  });
});

describe('health recompute', () => {
  it('scores the workspace with --wait and queues it without', async () => {
    const r = await cli(['health', 'recompute', '--workspace', workspaceId, '--wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ scored: 1, unscored: 1 });
    expect((await Customer.findById(acmeId).lean())!.health!.score).toBe(85);
    const q = await cli(['health', 'recompute', '--workspace', workspaceId, '--json']);
    expect(q.json()).toMatchObject({ queued: true });
    const bad = await cli(['health', 'recompute', '--workspace', 'nope']);
    expect(bad.code).toBe(2);
  });
});
