// Block Kit builders for the bot: the customer card, pick lists, "no match", help, the
// status-reason modal and App Home. Pure functions of data, so they are unit-tested with
// the fake's validator. Every data value goes through mrkdwnField()/truncate() so any
// input (a name like "<!channel> *Acme*", 10,000-character fields) renders as text and
// stays within Slack's limits.
import { billingLine, mrkdwn, mrkdwnField, plainField, truncate, slackLink, STATUS_LABELS, BUCKET_LABELS } from '../../core/slack/format.ts';
import { stripeDashboardUrl } from '../../core/customers/view.ts';

export type Block = Record<string, unknown>;
export interface Owner {
  slackUserId: string | null;
  label: string;
}

export const ACTIONS = {
  share: 'card_share',
  markAtRisk: 'card_status_at_risk',
  markChurned: 'card_status_churned',
  markActive: 'card_status_active',
  resync: 'card_resync',
  pick: 'card_pick', // suffixed with :<n> so ids stay unique within a list
} as const;
export const STATUS_MODAL_CALLBACK = 'status_reason_modal';
export const REASON_BLOCK = 'reason_block';
export const REASON_ACTION = 'reason_input';

// Every plain_text too: Slack reads &, < and > as markup in any text object.
const plain = (text: string, max = 3000) => ({ type: 'plain_text', text: plainField(text, max) || ' ', emoji: true });
const md = (text: string) => ({ type: 'mrkdwn', text: truncate(text, 3000) || ' ' });
const button = (text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Block => ({
  type: 'button', text: plain(text, 75), action_id: actionId, value: truncate(value, 2000), ...(style ? { style } : {}),
});

const DAY = 86_400_000;

/** "2 yr 3 mo" since a date (whole months of 30.44 days; precise enough for a card). */
export function tenure(start: Date | string | null | undefined, now = Date.now()): string | null {
  if (!start) return null;
  const from = new Date(start).getTime();
  if (!Number.isFinite(from) || from > now) return null;
  const months = Math.floor((now - from) / (30.44 * DAY));
  const y = Math.floor(months / 12);
  const m = months % 12;
  if (y === 0 && m === 0) return 'under a month';
  return [y ? `${y} yr` : '', m ? `${m} mo` : ''].filter(Boolean).join(' ');
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
function ago(d: Date | string | null | undefined, now = Date.now()): string {
  if (!d) return 'never';
  const diff = new Date(d).getTime() - now;
  if (!Number.isFinite(diff)) return 'never';
  const abs = Math.abs(diff);
  if (abs < 60_000) return 'just now';
  if (abs < 3_600_000) return relative.format(Math.round(diff / 60_000), 'minute');
  if (abs < DAY) return relative.format(Math.round(diff / 3_600_000), 'hour');
  return relative.format(Math.round(diff / DAY), 'day');
}

function healthText(c: any): string {
  const score = c.health?.score;
  if (score == null) return 'not scored yet';
  const bucket = c.health?.bucket ? ` (${BUCKET_LABELS[c.health.bucket] ?? mrkdwn(c.health.bucket)})` : '';
  return `${Math.round(score)}/100${bucket}`;
}

function ownerText(owner: Owner | null): string {
  if (!owner) return 'unassigned';
  if (owner.slackUserId && /^[UW][A-Z0-9]+$/.test(owner.slackUserId)) return `<@${owner.slackUserId}>`;
  return mrkdwnField(owner.label, 200);
}

/** The one-line summary used in lists: "*Acme* (#12) · Plan: Growth, MRR $1,400 · at risk". */
export function customerLine(c: any): string {
  const status = c.status && c.status !== 'active' ? ` · ${STATUS_LABELS[c.status] ?? mrkdwn(c.status)}` : '';
  return `*${mrkdwnField(c.name, 150)}* (#${c.display_id}) · ${mrkdwnField(billingLine(c), 300)}${status}`;
}

/** The customer card. `shared` drops the buttons (a card posted in channel is read-only). */
export function customerCard(c: any, opts: { owner?: Owner | null; shared?: boolean; sharedBy?: string; now?: number } = {}): Block[] {
  const id = String(c._id);
  const source = (c.sources ?? [])[0];
  const links = [
    slackLink(source?.url, `Open in ${source?.provider ?? 'source'}`),
    slackLink(stripeDashboardUrl(c.billing?.stripe_customer_id, c.billing?.stripe_livemode), 'Stripe'),
  ].filter(Boolean);
  const fields = [
    `*Status*\n${STATUS_LABELS[c.status] ?? mrkdwnField(c.status, 50)}`,
    `*Health*\n${healthText(c)}`,
    `*Domain*\n${c.domain ? mrkdwnField(c.domain, 200) : '—'}`,
    `*Owner*\n${ownerText(opts.owner ?? null)}`,
    `*Tenure*\n${tenure(c.billing?.billing_started_at ?? c.source_created_at, opts.now) ?? '—'}`,
    `*Last synced*\n${ago(c.last_synced_at, opts.now)}`,
  ].map((t) => ({ type: 'mrkdwn', text: truncate(t, 2000) }));

  const blocks: Block[] = [
    { type: 'header', text: plain(c.name, 150) },
    { type: 'section', text: md(`${mrkdwnField(billingLine(c), 1000)}${c.status_reason ? `\n_Reason:_ ${mrkdwnField(c.status_reason, 1000)}` : ''}`), fields },
  ];
  const context = [`#${c.display_id}`, ...links];
  if (opts.sharedBy && /^[UW][A-Z0-9]+$/.test(opts.sharedBy)) context.push(`shared by <@${opts.sharedBy}>`);
  blocks.push({ type: 'context', elements: [md(context.join(' · '))] });
  if (!opts.shared) {
    const buttons: Block[] = [button('Share in channel', ACTIONS.share, id, 'primary')];
    if (c.status !== 'at_risk') buttons.push(button('Mark at risk', ACTIONS.markAtRisk, id));
    if (c.status !== 'churned') buttons.push(button('Mark churned', ACTIONS.markChurned, id, 'danger'));
    if (c.status !== 'active') buttons.push(button('Mark active', ACTIONS.markActive, id));
    buttons.push(button('Resync', ACTIONS.resync, id));
    blocks.push({ type: 'actions', block_id: 'card_actions', elements: buttons });
  }
  return blocks;
}

/** Fallback text for notifications and screen readers (escaped too: it is mrkdwn). */
export function cardText(c: any): string {
  return truncate(`${mrkdwnField(c.name, 200)} · ${mrkdwnField(billingLine(c), 300)}`, 3000);
}

/** Several matches: one row per customer with a "View" button. */
export function pickList(customers: any[], query: string, heading?: string): Block[] {
  const shown = customers.slice(0, 10);
  const blocks: Block[] = [{ type: 'section', text: md(heading ?? `${customers.length} customers match *${mrkdwnField(query, 100)}*. Pick one:`) }];
  shown.forEach((c, i) => {
    blocks.push({ type: 'section', text: md(customerLine(c)), accessory: button('View', `${ACTIONS.pick}:${i}`, String(c._id)) });
  });
  return blocks;
}

export function noMatch(query: string, suggestions: any[]): Block[] {
  const blocks: Block[] = [{ type: 'section', text: md(`No customer matches *${mrkdwnField(query, 200)}*.${suggestions.length ? ' Did you mean:' : ' Try a name, domain, contact email or #id.'}`) }];
  suggestions.slice(0, 3).forEach((c, i) => {
    blocks.push({ type: 'section', text: md(customerLine(c)), accessory: button('View', `${ACTIONS.pick}:${i}`, String(c._id)) });
  });
  return blocks;
}

/** A titled list (at-risk, failing, mine) with View buttons; empty lists say so. */
export function customerList(title: string, customers: any[], emptyText: string): Block[] {
  if (!customers.length) return [{ type: 'section', text: md(`*${title}*\n${emptyText}`) }];
  return pickList(customers.slice(0, 20), '', `*${title}* (${customers.length}${customers.length >= 20 ? '+' : ''})`).slice(0, 21);
}

export function helpBlocks(): Block[] {
  return [
    {
      type: 'section',
      text: md([
        '*Pivotal in Slack*',
        '`/pivotal acme` look up a customer by name, domain, contact email or #id (typos are fine)',
        '`/pivotal at-risk` customers marked at risk',
        '`/pivotal failing` customers whose payments are failing',
        '`/pivotal mine` the customers you own',
        '`/pivotal help` this message',
        'Replies are only visible to you until you press *Share in channel*.',
      ].join('\n')),
    },
  ];
}

export function textBlocks(text: string): Block[] {
  return [{ type: 'section', text: md(text) }];
}

/** The modal asking why a status changes; private_metadata carries ids only. */
export function statusReasonModal(c: any, status: 'active' | 'at_risk' | 'churned', metadata: string): Block {
  const label = STATUS_LABELS[status]!;
  return {
    type: 'modal',
    callback_id: STATUS_MODAL_CALLBACK,
    private_metadata: metadata,
    title: plain(`Mark ${label.toLowerCase()}`, 24),
    submit: plain('Save', 24),
    close: plain('Cancel', 24),
    blocks: [
      { type: 'section', text: md(`Mark *${mrkdwnField(c.name, 500)}* as *${label}*. The change is recorded in its history${status === 'active' ? '' : ' and alerts go out'}.`) },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: plain('Reason', 2000),
        element: { type: 'plain_text_input', action_id: REASON_ACTION, multiline: true, max_length: 2000, placeholder: plain('e.g. champion left, budget cut', 150) },
      },
    ],
  };
}

/** App Home: the viewer's book, at-risk and failing first (the caller sorts). */
export function homeView(customers: any[], opts: { matched: boolean; connected: boolean }): Block {
  const blocks: Block[] = [{ type: 'header', text: plain('Your customers', 150) }];
  if (!opts.connected) {
    blocks.push({ type: 'section', text: md('This Slack workspace is not connected to Pivotal yet. Ask a Pivotal admin to install the app from the portal.') });
  } else if (!opts.matched) {
    blocks.push({ type: 'section', text: md('We could not match you to a Pivotal user. Ask an admin to add your email (the one you use in Slack) to the workspace.') });
  } else if (!customers.length) {
    blocks.push({ type: 'section', text: md('You do not own any active customers.') });
  } else {
    const atRisk = customers.filter((c) => c.status === 'at_risk' || ['failing', 'past_due'].includes(c.billing?.payment_status)).length;
    blocks.push({ type: 'context', elements: [md(`${customers.length} customers · ${atRisk} need attention · type \`/pivotal <name>\` for a card`)] });
    blocks.push({ type: 'divider' });
    const max = 90;
    for (const c of customers.slice(0, max)) blocks.push({ type: 'section', text: md(customerLine(c)) });
    if (customers.length > max) blocks.push({ type: 'context', elements: [md(`…and ${customers.length - max} more`)] });
  }
  return { type: 'home', blocks: blocks.slice(0, 100) };
}
