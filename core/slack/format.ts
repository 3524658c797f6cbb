// Turning customer data into Slack text safely. Everything that comes from data (names,
// domains, reasons, plans) goes through mrkdwn() before it is placed in a mrkdwn text
// object: &, < and > become entities (which also neutralises <!channel>, <!here> and
// <@U…> mentions), and the formatting characters * _ ~ ` become look-alike glyphs, since
// Slack has no backslash escape. plain_text objects get the same &, <, > escaping (Slack
// asks for it in every text object) but keep formatting characters, which they never parse.

const FORMAT_LOOKALIKES: Record<string, string> = { '*': '∗', _: 'ˍ', '~': '∼', '`': 'ˋ' };

/** &, < and > as entities: what every Slack text object needs, plain_text included. */
export function escapeEntities(value: unknown): string {
  const s = value == null ? '' : String(value);
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function mrkdwn(value: unknown): string {
  return escapeEntities(value).replace(/[*_~`]/g, (c) => FORMAT_LOOKALIKES[c]!);
}

/** Cuts to at most max characters (by code point), ending with an ellipsis when cut. */
export function truncate(value: unknown, max: number): string {
  const s = value == null ? '' : String(value);
  if (s.length <= max) return s;
  const chars = [...s];
  let out = '';
  for (const ch of chars) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/** Escaped and truncated so the escaped text, not the raw one, fits the limit. */
export function mrkdwnField(value: unknown, max: number): string {
  return cutEscaped(mrkdwn(value), max);
}

/** A plain_text value: entities escaped, then cut to the limit. */
export function plainField(value: unknown, max: number): string {
  return cutEscaped(escapeEntities(value), max);
}

function cutEscaped(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  // Never cut inside an entity like &amp;
  let cut = escaped.slice(0, max - 1);
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  return `${cut}…`;
}

/** A URL inside <url|label>: only http(s), with the characters that would end the link encoded. */
export function slackLink(url: string | null | undefined, label: string): string | null {
  // Over-long URLs are dropped rather than cut (a cut link would break the surrounding text).
  if (!url || url.length > 1000 || !/^https?:\/\//i.test(url)) return null;
  const safeUrl = url.replace(/[<>|\s]/g, (c) => encodeURIComponent(c));
  return `<${safeUrl}|${mrkdwn(label).replace(/\|/g, '¦')}>`;
}

// Built once: constructing an Intl.NumberFormat costs more than a whole card's other formatting.
const WHOLE_DOLLARS = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const DOLLARS_AND_CENTS = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });

export function formatMoneyCents(cents: number | null | undefined): string | null {
  if (cents == null || !Number.isFinite(cents)) return null;
  const dollars = cents / 100;
  return (Number.isInteger(dollars) ? WHOLE_DOLLARS : DOLLARS_AND_CENTS).format(dollars);
}

export const PAYMENT_LABELS: Record<string, string> = { paid: 'paid', past_due: 'past due', failing: 'payment failing', none: 'no billing' };
export const STATUS_LABELS: Record<string, string> = { active: 'Active', at_risk: 'At risk', churned: 'Churned', archived: 'Archived' };
export const BUCKET_LABELS: Record<string, string> = { healthy: 'healthy', watch: 'watch', at_risk: 'at risk' };

/** "Plan: Growth, MRR $1,400, payment failing", as PRODUCT.md words it (raw text: escape before mrkdwn use). */
export function billingLine(c: { plan?: string | null; billing?: { plan?: string | null; mrr?: number | null; payment_status?: string | null } | null }): string {
  const plan = c.billing?.plan ?? c.plan ?? null;
  const mrr = formatMoneyCents(c.billing?.mrr);
  const payment = c.billing?.payment_status ?? 'none';
  const parts = [`Plan: ${plan ?? '—'}`, `MRR ${mrr ?? '—'}`];
  if (payment !== 'none') parts.push(PAYMENT_LABELS[payment] ?? payment);
  return parts.join(', ');
}
