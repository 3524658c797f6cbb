// Slack alerts from the domain event feed, delivered at least once and posted effectively
// once. One delivery row per event (unique key); every attempt claims the row with a
// conditional update, so duplicate events, a dispatch job run twice and several workers
// make one attempt at a time. An attempt that died (worker killed between claim and
// record) leaves a `sending` claim; after SENDING_DEADLINE_MS the sweep retries it, and
// any attempt after the first looks for its own message in the channel first — each
// message carries the delivery key in Slack message metadata — so a message that was
// posted but never recorded is found, not sent again.
//
// Routing: the customer's linked channel, else the workspace default (logged as
// routing_fallback). Slack errors: ratelimited → retry after Retry-After through Agenda;
// channel_not_found / is_archived → default channel; not_in_channel → join and retry
// (a private channel cannot be joined → default channel); invalid_auth and friends → the
// installation is marked broken (the portal shows it) and the alert is given up.
import { Types } from 'mongoose';
import type { WebClient } from '@slack/web-api';
import { AlertDelivery } from '../models/alerts.ts';
import { Customer } from '../models/customer.ts';
import { DomainEvent } from '../models/events.ts';
import { Workspace } from '../models/workspace.ts';
import { SlackInstallation } from '../models/slack.ts';
import { decryptSecret } from '../crypto.ts';
import { isDuplicateKeyError } from '../errors.ts';
import { log } from '../log.ts';
import { defineJob, enqueue, RetryLater, retryAfterBackoff } from '../jobs/agenda.ts';
import type { EventConsumer, StoredDomainEvent } from '../events/dispatch.ts';
import { slackClient, classifySlackError } from '../slack/client.ts';
import { clearInstallationCache } from '../slack/installations.ts';
import { ALERT_RULES, alertMessage, type AlertRule } from './rules.ts';
import { recordActivity } from '../activity/activity.ts';

export const ALERT_SEND_JOB = 'alerts.send';
export const ALERT_SWEEP_JOB = 'alerts.sweep';
const MAX_ATTEMPTS = 8;
/** An attempt that has not recorded its outcome by then died; Slack answers in seconds. */
export const SENDING_DEADLINE_MS = 2 * 60_000;
/** The Slack message metadata type that carries the delivery key. */
export const ALERT_METADATA_TYPE = 'pivotal_alert';

type DeliveryDoc = { _id: Types.ObjectId; key: string; event_id: Types.ObjectId; workspace_id: Types.ObjectId; customer_id: Types.ObjectId | null; kind: string; attempts: number; createdAt: Date };
type Candidate = { channel: string; routedTo: 'customer_channel' | 'default_channel' };

/** Records the delivery for one domain event and makes the first attempt (the events.dispatch consumer). */
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
      status: 'queued',
    });
  } catch (err) {
    if (isDuplicateKeyError(err)) return; // another worker (or an earlier run) owns this alert
    throw err;
  }
  const retry = await sendAlert(String(delivery._id));
  // The first attempt runs inside the event's dispatch; later ones are alerts.send jobs.
  if (retry) await enqueue(ALERT_SEND_JOB, { delivery_id: String(delivery._id) }, { at: new Date(Date.now() + retry.retryAfterMs) });
}

/** The domain-event consumer that turns events into Slack alerts (listed by the composition root). */
export const slackAlertsConsumer: EventConsumer = { name: 'slack-alerts', types: Object.keys(ALERT_RULES) as StoredDomainEvent['type'][], handle: handleAlertEvent };

async function finish(id: Types.ObjectId, set: Record<string, unknown>): Promise<void> {
  await AlertDelivery.updateOne({ _id: id }, { $set: set });
}

/** Takes the delivery for one attempt: queued, retrying, or a `sending` claim past its deadline. */
async function claimDelivery(deliveryId: Types.ObjectId): Promise<DeliveryDoc | null> {
  const stale = new Date(Date.now() - SENDING_DEADLINE_MS);
  return (await AlertDelivery.findOneAndUpdate(
    { _id: deliveryId, $or: [{ status: { $in: ['queued', 'retrying'] } }, { status: 'sending', claimed_at: { $lt: stale } }] },
    { $set: { status: 'sending', claimed_at: new Date() }, $inc: { attempts: 1 } },
    { returnDocument: 'after' },
  ).lean()) as DeliveryDoc | null;
}

/**
 * One attempt at a delivery. Returns a retry delay when Slack asked to come back later
 * (the delivery is then `retrying`); null when the delivery reached an end (sent, skipped,
 * failed) or another attempt holds it.
 */
export async function sendAlert(deliveryId: string): Promise<{ retryAfterMs: number } | null> {
  if (!Types.ObjectId.isValid(deliveryId)) return null;
  const delivery = await claimDelivery(new Types.ObjectId(deliveryId));
  if (!delivery) return null;
  const event = (await DomainEvent.findById(delivery.event_id).lean()) as unknown as StoredDomainEvent | null;
  const rule = event ? ALERT_RULES[event.type] : undefined;
  if (!event || !rule) {
    await finish(delivery._id, { status: 'failed', last_error: 'event_missing' });
    return null;
  }
  const retry = await attemptDelivery(delivery, event, rule);
  if (!retry) return null;
  if (delivery.attempts >= MAX_ATTEMPTS) {
    await finish(delivery._id, { status: 'failed', last_error: retry.error });
    return null;
  }
  await finish(delivery._id, { status: 'retrying', last_error: retry.error });
  log.warn({ delivery_id: deliveryId, retry_in_ms: retry.retryAfterMs, error: retry.error }, 'alert delayed');
  return { retryAfterMs: retry.retryAfterMs };
}

/**
 * Finds this delivery's message among the recent messages of the channels it may have
 * gone to (conversations.history with metadata). A channel the bot cannot read counts as
 * "not there": the alert is then sent, at worst a second time, never lost.
 */
async function findPostedMessage(client: WebClient, candidates: Candidate[], key: string, since: Date): Promise<{ channel: string; ts: string; routedTo: Candidate['routedTo'] } | null> {
  const oldest = String(Math.floor(since.getTime() / 1000) - 60);
  for (const { channel, routedTo } of candidates) {
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      let res;
      try {
        res = await client.conversations.history({ channel, oldest, limit: 200, include_all_metadata: true, cursor });
      } catch (err) {
        const failure = classifySlackError(err);
        if (failure.kind === 'rate_limited' || (failure.kind === 'other' && failure.retryable)) throw err;
        log.warn({ channel, error: 'error' in failure ? failure.error : 'unknown' }, 'cannot read the alert channel to check for an earlier post');
        break;
      }
      const hit = (res.messages ?? []).find((m) => m.metadata?.event_type === ALERT_METADATA_TYPE && (m.metadata.event_payload as { delivery_key?: string } | undefined)?.delivery_key === key);
      if (hit?.ts) return { channel, ts: hit.ts, routedTo };
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!res.has_more || !cursor) break;
    }
  }
  return null;
}

type AttemptResult = { retryAfterMs: number; error: string } | null;

async function attemptDelivery(delivery: DeliveryDoc, event: StoredDomainEvent, rule: AlertRule): Promise<AttemptResult> {
  const id = delivery._id;
  const workspace = await Workspace.findById(event.workspace_id).lean();
  if (!workspace) return finish(id, { status: 'skipped', last_error: 'workspace_not_found' }).then(() => null);
  const settings = workspace.settings?.alerts;
  if (settings && (settings as Record<string, unknown>)[rule.kind] === false) return finish(id, { status: 'skipped', last_error: 'alert_type_disabled' }).then(() => null);
  const customer = event.customer_id ? await Customer.findOne({ _id: event.customer_id, workspace_id: event.workspace_id }).lean() : null;
  if (customer?.status === 'churned' && !rule.evenIfChurned) return finish(id, { status: 'skipped', last_error: 'customer_churned' }).then(() => null);
  if (customer?.status === 'archived') return finish(id, { status: 'skipped', last_error: 'customer_archived' }).then(() => null);

  const install = await SlackInstallation.findOne({ workspace_id: event.workspace_id }).lean();
  if (!install) return finish(id, { status: 'skipped', last_error: 'slack_not_installed' }).then(() => null);
  if (install.status !== 'ok') return finish(id, { status: 'failed', last_error: 'slack_installation_broken' }).then(() => null);

  const defaultChannel = settings?.default_channel_id ?? null;
  const linked = customer?.slack_channel_id ?? null;
  const candidates: Candidate[] = [];
  if (linked) candidates.push({ channel: linked, routedTo: 'customer_channel' });
  if (defaultChannel && defaultChannel !== linked) candidates.push({ channel: defaultChannel, routedTo: 'default_channel' });
  if (!linked) log.info({ event: 'routing_fallback', routing_fallback: true, reason: 'no_customer_channel', workspace_id: String(event.workspace_id), customer_id: event.customer_id ? String(event.customer_id) : null, channel: defaultChannel }, 'routing_fallback');
  if (!candidates.length) return finish(id, { status: 'skipped', last_error: 'no_channel_configured' }).then(() => null);

  // No blind retries inside the client: a post whose answer was lost is retried by the
  // delivery's own job, which first checks whether it went through.
  const client = slackClient(decryptSecret(install.bot_token), { retries: 0 });
  const ctx = { delivery_id: String(id), workspace_id: String(event.workspace_id), kind: rule.kind };
  try {
    if (delivery.attempts > 1) {
      const posted = await findPostedMessage(client, candidates, delivery.key, delivery.createdAt);
      if (posted) {
        log.info({ ...ctx, channel: posted.channel }, 'alert was already posted by an earlier attempt');
        return finish(id, { status: 'sent', channel_id: posted.channel, routed_to: posted.routedTo, message_ts: posted.ts, sent_at: new Date(), last_error: null }).then(() => null);
      }
    }
    return await postToCandidates(client, candidates, delivery, alertMessage(rule, event, customer), install, ctx);
  } catch (err) {
    const failure = classifySlackError(err);
    if (failure.kind === 'rate_limited') return { retryAfterMs: failure.retryAfterSec * 1000, error: 'ratelimited' };
    if (failure.kind === 'other' && failure.retryable) return { retryAfterMs: Math.min(30_000 * 2 ** (delivery.attempts - 1), 3_600_000), error: failure.error };
    throw err;
  }
}

/** Posts to the first usable channel; Slack errors that a retry cannot fix end the delivery here. */
async function postToCandidates(
  client: WebClient,
  candidates: Candidate[],
  delivery: DeliveryDoc,
  message: ReturnType<typeof alertMessage>,
  install: { _id: unknown; team_id: string },
  ctx: Record<string, unknown>,
): Promise<AttemptResult> {
  const id = delivery._id;
  for (let i = 0; i < candidates.length; i++) {
    const { channel, routedTo } = candidates[i]!;
    const next = candidates[i + 1];
    let joined = false;
    for (;;) {
      try {
        const res = await client.chat.postMessage({
          channel, text: message.text, blocks: message.blocks as any, unfurl_links: false, unfurl_media: false,
          metadata: { event_type: ALERT_METADATA_TYPE, event_payload: { delivery_key: delivery.key } },
        });
        await finish(id, { status: 'sent', channel_id: channel, routed_to: routedTo, message_ts: res.ts ?? null, sent_at: new Date(), last_error: null });
        log.info({ ...ctx, channel, routed_to: routedTo }, 'alert sent');
        if (delivery.customer_id) await recordActivity([{ workspaceId: delivery.workspace_id, customerId: delivery.customer_id, actor: 'slack', actorType: 'system', eventType: 'alert_sent', field: delivery.kind, newValue: channel }]);
        return null;
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
            await finish(id, { status: 'failed', last_error: failure.error, channel_id: channel });
            return null;
          }
          break; // try the next candidate
        }
        if (failure.kind === 'auth') {
          await SlackInstallation.updateOne({ _id: install._id }, { $set: { status: 'broken', status_reason: `Slack rejected the bot token (${failure.error}); reinstall the Slack app` } });
          clearInstallationCache(install.team_id);
          log.error({ ...ctx, error: failure.error }, 'slack installation marked broken');
          await finish(id, { status: 'failed', last_error: failure.error });
          return null;
        }
        if (failure.kind === 'rate_limited' || (failure.kind === 'other' && failure.retryable)) throw err;
        log.error({ ...ctx, error: failure.error }, 'alert failed');
        await finish(id, { status: 'failed', last_error: failure.error });
        return null;
      }
    }
  }
  return null;
}

/**
 * Deliveries whose attempt died: `sending` past the deadline, or `queued` and never
 * attempted (the process stopped between recording and sending). Each gets a job; the
 * claim inside decides, so a delivery queued twice is still attempted once at a time.
 */
export async function sweepStaleDeliveries(): Promise<number> {
  const stale = new Date(Date.now() - SENDING_DEADLINE_MS);
  const rows = await AlertDelivery.find(
    { $or: [{ status: 'sending', claimed_at: { $lt: stale } }, { status: 'queued', createdAt: { $lt: stale } }] },
    { _id: 1 },
  ).limit(500).lean();
  for (const r of rows) await enqueue(ALERT_SEND_JOB, { delivery_id: String(r._id) }, { unique: { name: ALERT_SEND_JOB, 'data.delivery_id': String(r._id), lastFinishedAt: null } });
  return rows.length;
}

const sendJob = defineJob<{ delivery_id: string }>(
  ALERT_SEND_JOB,
  async (data) => {
    const retry = await sendAlert(String(data.delivery_id));
    if (retry) throw new RetryLater('Slack asked to retry the alert later', retry.retryAfterMs);
  },
  { backoff: retryAfterBackoff(MAX_ATTEMPTS) },
);

const sweepJob = defineJob(
  ALERT_SWEEP_JOB,
  async () => {
    const n = await sweepStaleDeliveries();
    if (n) log.warn({ count: n }, 're-queued alert deliveries whose attempt died');
  },
  { backoff: null },
);

export const alertJobs = [sendJob, sweepJob];
