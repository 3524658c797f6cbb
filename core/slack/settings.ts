// The portal's Slack page: which Slack team is linked (or how to install), the default
// alert channel picked from the team's real channels, which alert types are sent, the
// customers linked to their own channels, and "send a test alert" to check it all works.
import { z } from 'zod';
import { SlackInstallation } from '../models/slack.ts';
import { Workspace } from '../models/workspace.ts';
import { Customer } from '../models/customer.ts';
import { decryptSecret } from '../crypto.ts';
import { AppError } from '../errors.ts';
import { getWorkspace } from '../workspaces/workspaces.ts';
import { classifySlackError, slackClient } from './client.ts';
import { slackInstallStartUrl, slackOAuthConfigured } from './install.ts';
import { slackChannelId } from './link.ts';

export const ALERT_TYPES = [
  { key: 'payment_failing', label: 'Payment failing' },
  { key: 'at_risk', label: 'Customer marked at risk' },
  { key: 'churned', label: 'Customer churned' },
  { key: 'health_drop', label: 'Health score dropped 10+ points' },
  { key: 'bucket_change', label: 'Health bucket changed' },
] as const;

async function installationOf(workspaceId: string) {
  return SlackInstallation.findOne({ workspace_id: (await getWorkspace(workspaceId))._id }).lean();
}

/** The team's public and private channels the bot can see, for the pickers (first 200). */
async function channels(botToken: string) {
  const res = await slackClient(botToken).conversations.list({ types: 'public_channel,private_channel', exclude_archived: true, limit: 200 });
  return (res.channels ?? []).map((c) => ({ id: String(c.id), name: String(c.name ?? c.id) })).sort((a, b) => a.name.localeCompare(b.name));
}

export async function slackView(workspaceId: string) {
  const ws = await getWorkspace(workspaceId);
  const install = await installationOf(workspaceId);
  let list: { id: string; name: string }[] = [];
  let channelsError: string | null = null;
  if (install && install.status === 'ok') {
    try {
      list = await channels(decryptSecret(install.bot_token));
    } catch (e) {
      const f = classifySlackError(e);
      channelsError = f.kind === 'rate_limited' ? 'Slack asked us to slow down; reload in a minute' : 'error' in f ? f.error : 'Slack could not be reached';
    }
  }
  const alerts = (ws.settings?.alerts ?? {}) as Record<string, unknown>;
  const linked = await Customer.find({ workspace_id: ws._id, slack_channel_id: { $ne: null }, status: { $ne: 'archived' } }, { display_id: 1, name: 1, slack_channel_id: 1 }).sort({ name_lower: 1 }).limit(200).lean();
  return {
    team: install ? { id: install.team_id, name: install.team_name ?? install.team_id, status: install.status, status_reason: install.status_reason ?? null, source: install.source } : null,
    // The portal's /connect/slack mints a one-use install link for the signed-in admin.
    install_url: slackOAuthConfigured() ? slackInstallStartUrl() : null,
    default_channel_id: (alerts.default_channel_id as string | null) ?? null,
    alert_types: ALERT_TYPES.map((t) => ({ ...t, on: alerts[t.key] !== false })),
    channels: list,
    channels_error: channelsError,
    linked_customers: linked.map((c) => ({ display_id: c.display_id, name: c.name, channel_id: c.slack_channel_id! })),
  };
}

const settingsInput = z.object({
  default_channel_id: slackChannelId.nullable(),
  on: z.array(z.enum(ALERT_TYPES.map((t) => t.key) as [string, ...string[]])),
});

/** Saves the default channel and which alert types are sent. */
export async function saveSlackSettings(workspaceId: string, input: { default_channel_id: string | null; on: string[] }) {
  const parsed = settingsInput.safeParse(input);
  if (!parsed.success) throw new AppError('bad_input', `Default channel: ${parsed.error.issues[0]!.message}`);
  const ws = await getWorkspace(workspaceId);
  const set: Record<string, unknown> = { 'settings.alerts.default_channel_id': parsed.data.default_channel_id };
  for (const t of ALERT_TYPES) set[`settings.alerts.${t.key}`] = parsed.data.on.includes(t.key);
  await Workspace.updateOne({ _id: ws._id }, { $set: set });
}

/** Links a customer (by display id) to its own alert channel, or unlinks it (null). */
export async function linkCustomerChannel(workspaceId: string, displayId: string, channelId: string | null) {
  const ws = await getWorkspace(workspaceId);
  const id = Number(String(displayId).replace(/^#/, ''));
  if (!Number.isInteger(id) || id <= 0) throw new AppError('bad_input', 'Customer: give its number, e.g. 42 or #42');
  if (channelId !== null && !slackChannelId.safeParse(channelId).success) throw new AppError('bad_input', 'Choose a channel');
  const res = await Customer.updateOne({ workspace_id: ws._id, display_id: id }, { $set: { slack_channel_id: channelId } });
  if (!res.matchedCount) throw new AppError('not_found', `No customer #${id} in this workspace`);
}

/** Posts a test alert to the default channel (joining it first if needed); Slack's refusal is the message. */
export async function sendTestAlert(workspaceId: string, actorEmail: string): Promise<{ channel: string; ts: string | null }> {
  const ws = await getWorkspace(workspaceId);
  const install = await installationOf(workspaceId);
  if (!install) throw new AppError('conflict', 'Slack is not connected yet: install the Slack app first');
  const channel = ws.settings?.alerts?.default_channel_id;
  if (!channel) throw new AppError('bad_input', 'Choose a default channel first, then send the test alert');
  const client = slackClient(decryptSecret(install.bot_token));
  const text = `:white_check_mark: Test alert from Pivotal (sent by ${actorEmail}). Payment failing, at-risk and churn alerts for ${ws.name} arrive in this channel.`;
  const post = () => client.chat.postMessage({ channel, text, unfurl_links: false });
  try {
    const res = await post().catch(async (e) => {
      if (classifySlackError(e).kind !== 'not_in_channel') throw e;
      await client.conversations.join({ channel });
      return post();
    });
    return { channel, ts: res.ts ?? null };
  } catch (e) {
    const f = classifySlackError(e);
    throw new AppError('bad_input', `Slack did not take the test alert: ${'error' in f ? f.error : 'rate limited, try again in a minute'}`);
  }
}
