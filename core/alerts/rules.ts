// Which domain events become Slack alerts, gated by which workspace setting, and how the
// alert reads. Adding a trigger (e.g. health-score drops, already wired below) is a row
// here plus an emitDomainEvent call where the transition happens; the bot is untouched.
import type { DomainEventType } from '../models/events.ts';
import { billingLine, mrkdwn, mrkdwnField, truncate, slackLink, BUCKET_LABELS } from '../slack/format.ts';
import { stripeDashboardUrl } from '../customers/view.ts';

export type AlertSettingKey = 'payment_failing' | 'at_risk' | 'churned' | 'health_drop' | 'bucket_change';

export interface AlertRule {
  kind: AlertSettingKey;
  title: (event: AlertEvent) => string;
  /** churned customers get no further alerts, except the churn alert itself */
  evenIfChurned?: boolean;
}

export interface AlertEvent {
  type: DomainEventType;
  data: Record<string, any>;
  previous: Record<string, any> | null;
}

export const ALERT_RULES: Partial<Record<DomainEventType, AlertRule>> = {
  'customer.payment_failed': { kind: 'payment_failing', title: () => ':rotating_light: Payment failing' },
  'customer.at_risk': { kind: 'at_risk', title: () => ':warning: Marked at risk' },
  'customer.churned': { kind: 'churned', title: () => ':x: Churned', evenIfChurned: true },
  'customer.health_score_dropped': {
    kind: 'health_drop',
    // Event values are data: escaped like every other value placed in mrkdwn.
    title: (e) => `:chart_with_downwards_trend: Health score dropped ${mrkdwnField(e.previous?.score ?? '?', 20)} → ${mrkdwnField(e.data.score ?? '?', 20)}`,
  },
  'customer.health_bucket_changed': {
    kind: 'bucket_change',
    title: (e) => `:large_orange_diamond: Health now ${Object.hasOwn(BUCKET_LABELS, String(e.data.bucket)) ? BUCKET_LABELS[e.data.bucket] : mrkdwnField(e.data.bucket ?? '?', 40)}`,
  },
};

function actorText(data: Record<string, any>): string | null {
  const a = data.actor as { type?: string; id?: string; name?: string | null } | undefined;
  if (!a?.id) return null;
  if (a.type === 'slack_user') return `<@${String(a.id).replace(/[^A-Z0-9]/gi, '')}>`;
  if (a.type === 'sync') return 'the customer source';
  return mrkdwn(a.name ?? a.id);
}

/** The alert message: a fallback text plus Block Kit that stays within Slack's limits. */
export function alertMessage(rule: AlertRule, event: AlertEvent, customer: any): { text: string; blocks: unknown[] } {
  const title = rule.title(event);
  const name = customer?.name ?? event.data.name ?? 'Unknown customer';
  const lines = [`*${title}:* ${mrkdwnField(name, 500)}${customer?.display_id != null ? ` (#${customer.display_id})` : ''}`];
  if (customer) lines.push(mrkdwnField(billingLine(customer), 500));
  if (event.data.reason) lines.push(`Reason: ${mrkdwnField(event.data.reason, 1200)}`);
  const context: string[] = [];
  const who = actorText(event.data);
  if (who) context.push(`By ${who}`);
  const stripe = slackLink(stripeDashboardUrl(customer?.billing?.stripe_customer_id, customer?.billing?.stripe_livemode), 'Stripe');
  if (stripe) context.push(stripe);
  const source = customer?.sources?.[0];
  const sourceLink = slackLink(source?.url, `Open in ${source?.provider ?? 'source'}`);
  if (sourceLink) context.push(sourceLink);
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: truncate(lines.join('\n'), 3000) } }];
  if (context.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(context.join(' · '), 2000) }] });
  return { text: `${title.replace(/:[a-z_]+: /, '')}: ${mrkdwnField(name, 1000)}`, blocks };
}
