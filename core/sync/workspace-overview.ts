// What an admin must know about their workspace at a glance: connections and their
// state (reauthorize, stale syncs), and Slack installations that stopped working
// (invalid_auth / token_revoked mark them broken). The portal home shows these.
import { Types } from 'mongoose';
import { Connection } from '../models/connection.ts';
import { SlackInstallation } from '../models/slack.ts';
import { AmbiguousMatch } from '../models/sync.ts';
import { WebhookEndpoint } from '../models/webhooks.ts';
import { connectionStatus } from './connections.ts';
import { openCrmAmbiguityCount } from './crm-ambiguous.ts';

export interface WorkspaceOverview {
  connections: { id: string; provider: string; role: string; mode: string | null; state: string; last_full_sync_at: string | null; last_incremental_at: string | null; running: string | null }[];
  alerts: { level: 'error' | 'warning'; message: string }[];
  /** Open Stripe ambiguities (one domain, several paying Stripe customers) awaiting an admin. */
  ambiguous_open: number;
}

const PROVIDER_LABELS: Record<string, string> = { hubspot: 'HubSpot', salesforce: 'Salesforce', stripe: 'Stripe' };

export async function workspaceOverview(workspaceId: string): Promise<WorkspaceOverview> {
  const wsId = new Types.ObjectId(workspaceId);
  const conns = await Connection.find({ workspace_id: wsId, state: { $ne: 'disconnected' } }).sort({ createdAt: 1 }).lean();
  const alerts: WorkspaceOverview['alerts'] = [];
  const connections: WorkspaceOverview['connections'] = [];
  for (const c of conns) {
    const s = await connectionStatus(String(c._id));
    connections.push({
      id: s.connection_id,
      provider: PROVIDER_LABELS[s.provider] ?? s.provider,
      role: s.role,
      mode: c.mode ?? null,
      state: s.state,
      last_full_sync_at: s.last_full_sync_at ? new Date(s.last_full_sync_at).toISOString() : null,
      last_incremental_at: s.last_incremental_at ? new Date(s.last_incremental_at).toISOString() : null,
      running: s.running ? `${s.running.kind} ${s.running.progress?.done ?? 0}${s.running.progress?.total ? ` / ${s.running.progress.total}` : ''}` : null,
    });
    const label = PROVIDER_LABELS[s.provider] ?? s.provider;
    if (s.state === 'reauthorize') alerts.push({ level: 'error', message: `${label} needs to be reconnected: ${s.state_reason ?? 'its credentials stopped working'}. Syncing resumes once it is.` });
    for (const w of s.warnings) if (!w.startsWith('Reauthorize')) alerts.push({ level: 'warning', message: `${label}: ${w}` });
    const undecided = await openCrmAmbiguityCount(c);
    if (undecided) alerts.push({ level: 'warning', message: `${label}: ${undecided === 1 ? '1 domain waits' : `${undecided} domains wait`} for you to pick the customer, under Ambiguous matches on the connection's page.` });
  }
  for (const i of await SlackInstallation.find({ workspace_id: wsId, status: 'broken' }).lean()) {
    alerts.push({ level: 'error', message: `Slack (${i.team_name ?? i.team_id}) stopped accepting Pivotal's token${i.status_reason ? ` (${i.status_reason})` : ''}: reinstall the Slack app to resume alerts and /pivotal.` });
  }
  const stripeIds = conns.filter((c) => c.provider === 'stripe').map((c) => c._id);
  const ambiguousOpen = stripeIds.length ? await AmbiguousMatch.countDocuments({ connection_id: { $in: stripeIds }, status: 'open' }) : 0;
  if (ambiguousOpen) {
    const n = ambiguousOpen === 1 ? '1 domain is' : `${ambiguousOpen} domains are`;
    alerts.push({ level: 'warning', message: `Stripe: ${n} billed by several Stripe customers; their MRR is added together until you pick one or split the customer.` });
  }
  for (const e of await WebhookEndpoint.find({ workspace_id: wsId, state: 'disabled', disabled_reason: { $regex: '^Disabled after' } }, { url: 1, disabled_reason: 1 }).lean()) {
    alerts.push({ level: 'error', message: `Outbound webhook ${e.url}: ${e.disabled_reason}` });
  }
  return { connections, alerts, ambiguous_open: ambiguousOpen };
}
