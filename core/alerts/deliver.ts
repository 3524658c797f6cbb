// Slack alerts from the domain event feed. One delivery row per event, claimed by a
// unique-index insert, so duplicate events,
// a dispatch job run twice and several workers still post exactly one message.
//
// Routing: the customer's linked channel, else the workspace default (logged as
// routing_fallback). Slack errors: ratelimited → retry after Retry-After through Agenda;
// channel_not_found / is_archived → default channel; not_in_channel → join and retry
// (a private channel cannot be joined → default channel); invalid_auth and friends → the
// installation is marked broken (the portal shows it) and the alert is given up.
import { Types } from 'mongoose';
import { AlertDelivery, AlertAttemptClaim } from '../models/alerts.ts';
import { Customer } from '../models/customer.ts';
import { Workspace } from '../models/workspace.ts';
import { SlackInstallation } from '../models/slack.ts';
import { decryptSecret } from '../crypto.ts';
import { isDuplicateKeyError, errorMessage } from '../errors.ts';
import { log } from '../log.ts';
import { defineJob, enqueue } from '../jobs/agenda.ts';
import { registerEventConsumer, type StoredDomainEvent } from '../events/dispatch.ts';
import { slackClient, classifySlackError } from '../slack/client.ts';
import { clearInstallationCache } from '../slack/installations.ts';
import { ALERT_RULES, alertMessage, type AlertRule } from './rules.ts';
import { withBilling } from '../billing/store.ts';
import { recordActivity } from '../activity/activity.ts';

export const ALERT_SEND_JOB = 'alerts.send';
const MAX_ATTEMPTS = 8;

/** Claims and sends the alert for one domain event (the events.dispatch consumer). */
export async function handleAlertEvent(event: StoredDomainEvent): Promise<void> {
  const rule = ALERT_RULES[event.type];
  if (!rule) return;
  let delivery;
  try {
    delivery = await AlertDelivery.create({
      key: `slack:${event.dedupe_key}`,
      workspace_id: event.workspace_id,
      customer_id: event.customer_id ?? null,
      event_id: event._id,
      kind: rule.kind,
      attempts: 1,
    });
  } catch (err) {
    if (isDuplicateKeyError(err)) return; // another worker (or an earlier run) owns this alert
    throw err;
  }
  await attemptDelivery(String(delivery._id), event, rule, 1);
}

registerEventConsumer({ name: 'slack-alerts', types: Object.keys(ALERT_RULES) as StoredDomainEvent['type'][], handle: handleAlertEvent });

async function finish(id: string, set: Record<string, unknown>): Promise<void> {
  await AlertDelivery.updateOne({ _id: id }, { $set: set });
}

async function attemptDelivery(deliveryId: string, event: StoredDomainEvent, rule: AlertRule, attempt: number): Promise<void> {
  const workspace = await Workspace.findById(event.workspace_id).lean();
  if (!workspace) return finish(deliveryId, { status: 'skipped', last_error: 'workspace_not_found' });
  const settings = workspace.settings?.alerts;
  if (settings && (settings as Record<string, unknown>)[rule.kind] === false) return finish(deliveryId, { status: 'skipped', last_error: 'alert_type_disabled' });
  const customer = event.customer_id ? await withBilling(await Customer.findOne({ _id: event.customer_id, workspace_id: event.workspace_id }).lean()) : null;
  if (customer?.status === 'churned' && !rule.evenIfChurned) return finish(deliveryId, { status: 'skipped', last_error: 'customer_churned' });
  if (customer?.status === 'archived') return finish(deliveryId, { status: 'skipped', last_error: 'customer_archived' });

  const install = await SlackInstallation.findOne({ workspace_id: event.workspace_id }).lean();
  if (!install) return finish(deliveryId, { status: 'skipped', last_error: 'slack_not_installed' });
  if (install.status !== 'ok') return finish(deliveryId, { status: 'failed', last_error: 'slack_installation_broken' });

  const defaultChannel = settings?.default_channel_id ?? null;
  const linked = customer?.slack_channel_id ?? null;
  const candidates: { channel: string; routedTo: 'customer_channel' | 'default_channel' }[] = [];
  if (linked) candidates.push({ channel: linked, routedTo: 'customer_channel' });
  if (defaultChannel && defaultChannel !== linked) candidates.push({ channel: defaultChannel, routedTo: 'default_channel' });
  if (!linked) log.info({ event: 'routing_fallback', routing_fallback: true, reason: 'no_customer_channel', workspace_id: String(event.workspace_id), customer_id: event.customer_id ? String(event.customer_id) : null, channel: defaultChannel }, 'routing_fallback');
  if (!candidates.length) return finish(deliveryId, { status: 'skipped', last_error: 'no_channel_configured' });

  const client = slackClient(decryptSecret(install.bot_token));
  const message = alertMessage(rule, event, customer);
  const ctx = { delivery_id: deliveryId, workspace_id: String(event.workspace_id), kind: rule.kind };

  for (let i = 0; i < candidates.length; i++) {
    const { channel, routedTo } = candidates[i]!;
    const next = candidates[i + 1];
    let joined = false;
    for (;;) {
      try {
        const res = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks as any, unfurl_links: false, unfurl_media: false });
        await finish(deliveryId, { status: 'sent', channel_id: channel, routed_to: routedTo, message_ts: res.ts ?? null, sent_at: new Date(), last_error: null, attempts: attempt });
        log.info({ ...ctx, channel, routed_to: routedTo }, 'alert sent');
        if (customer) await recordActivity([{ workspaceId: event.workspace_id, customerId: customer._id, actor: 'slack', actorType: 'system', eventType: 'alert_sent', field: rule.kind, newValue: channel }]);
        return;
      } catch (err) {
        const failure = classifySlackError(err);
        if (failure.kind === 'not_in_channel' && !joined) {
          joined = true;
          try {
            await client.conversations.join({ channel });
            continue; // joined: post again
          } catch (joinErr) {
            log.warn({ ...ctx, channel, error: classifySlackError(joinErr) }, 'could not join the alert channel');
          }
        }
        if (failure.kind === 'channel_gone' || failure.kind === 'not_in_channel') {
          if (next) log.warn({ ...ctx, event: 'routing_fallback', routing_fallback: true, reason: failure.error, from: channel, channel: next.channel }, 'routing_fallback');
          else {
            log.warn({ ...ctx, channel, error: failure.error }, 'alert undeliverable: no usable channel');
            return finish(deliveryId, { status: 'failed', last_error: failure.error, channel_id: channel });
          }
          break; // try the next candidate
        }
        if (failure.kind === 'auth') {
          await SlackInstallation.updateOne({ _id: install._id }, { $set: { status: 'broken', status_reason: `Slack rejected the bot token (${failure.error}); reinstall the Slack app` } });
          clearInstallationCache(install.team_id);
          log.error({ ...ctx, error: failure.error }, 'slack installation marked broken');
          return finish(deliveryId, { status: 'failed', last_error: failure.error });
        }
        if (failure.kind === 'rate_limited' || (failure.kind === 'other' && failure.retryable)) {
          if (attempt >= MAX_ATTEMPTS) return finish(deliveryId, { status: 'failed', last_error: failure.kind === 'other' ? failure.error : 'ratelimited' });
          const delayMs = failure.kind === 'rate_limited' ? failure.retryAfterSec * 1000 : Math.min(30_000 * 2 ** (attempt - 1), 3_600_000);
          await finish(deliveryId, { status: 'retrying', last_error: failure.kind === 'other' ? failure.error : 'ratelimited', attempts: attempt });
          await enqueue(ALERT_SEND_JOB, { delivery_id: deliveryId, attempt: attempt + 1 }, { at: new Date(Date.now() + delayMs) });
          log.warn({ ...ctx, retry_in_ms: delayMs, error: failure.kind }, 'alert delayed');
          return;
        }
        log.error({ ...ctx, error: failure.error }, 'alert failed');
        return finish(deliveryId, { status: 'failed', last_error: failure.error });
      }
    }
  }
}

/** A retry of one delivery; the attempt number is claimed so two workers cannot both send it. */
export async function retryAlertDelivery(deliveryId: string, attempt: number): Promise<void> {
  if (!Types.ObjectId.isValid(deliveryId)) return;
  try {
    await AlertAttemptClaim.create({ key: `${deliveryId}:${attempt}` });
  } catch (err) {
    if (isDuplicateKeyError(err)) return;
    throw err;
  }
  const delivery = await AlertDelivery.findById(deliveryId).lean();
  if (!delivery || delivery.status === 'sent') return;
  const { DomainEvent } = await import('../models/events.ts');
  const event = (await DomainEvent.findById(delivery.event_id).lean()) as unknown as StoredDomainEvent | null;
  const rule = event ? ALERT_RULES[event.type] : undefined;
  if (!event || !rule) return finish(deliveryId, { status: 'failed', last_error: 'event_missing' });
  try {
    await attemptDelivery(deliveryId, event, rule, attempt);
  } catch (err) {
    log.error({ delivery_id: deliveryId, err: errorMessage(err) }, 'alert retry failed');
    throw err;
  }
}

defineJob<{ delivery_id: string; attempt: number }>(ALERT_SEND_JOB, async (data) => {
  await retryAlertDelivery(String(data.delivery_id), Number(data.attempt) || 2);
});
