// The health score: a pure function from a customer's signals and the workspace's weights
// and bucket boundaries to a 0–100 score, its bucket and the per-signal breakdown that is
// stored and shown. No I/O here, so every rule is unit-tested against hand-computed cases.
//
// Each signal scores 0–100 or is missing (null). Missing signals give their weight to the
// others in proportion (score = Σ wᵢ·sᵢ / Σ wᵢ over present signals), so a customer
// without Stripe is scored on what the CRM knows instead of being dragged down.
export const HEALTH_SIGNALS = ['payment', 'mrr_trend', 'tenure', 'contract_size', 'engagement'] as const;
export type HealthSignal = (typeof HEALTH_SIGNALS)[number];
export type HealthWeights = Record<HealthSignal, number>;
export type HealthBucket = 'healthy' | 'watch' | 'at_risk';
export interface HealthThresholds {
  /** lowest score that is healthy (default 70) */
  healthy: number;
  /** lowest score that is watch (default 40); below is at risk */
  watch: number;
}

export const DEFAULT_WEIGHTS: HealthWeights = { payment: 35, mrr_trend: 20, tenure: 15, contract_size: 15, engagement: 15 };
export const DEFAULT_THRESHOLDS: HealthThresholds = { healthy: 70, watch: 40 };

export const SIGNAL_LABELS: Record<HealthSignal, string> = {
  payment: 'Payment status',
  mrr_trend: 'MRR trend (90 days)',
  tenure: 'Tenure',
  contract_size: 'Contract size',
  engagement: 'Engagement recency',
};

const DAY_MS = 86_400_000;
/** tenure reaches full marks at two years */
export const FULL_TENURE_DAYS = 730;
/** engagement: full marks up to a week since the last CRM activity, none after 90 days */
export const ENGAGEMENT_FRESH_DAYS = 7;
export const ENGAGEMENT_STALE_DAYS = 90;
/** an MRR baseline younger than this says nothing about a trend */
export const MIN_TREND_DAYS = 30;

export interface HealthInput {
  now: Date;
  payment_status: string | null;
  /** current MRR in USD cents, null when unknown */
  mrr: number | null;
  /** the oldest MRR known within the last 90 days and when it was seen */
  mrr_baseline: { mrr: number; at: Date } | null;
  /** billing start, else the source's creation date */
  started_at: Date | null;
  /** median MRR of the workspace's paying customers */
  workspace_median_mrr: number | null;
  last_activity_at: Date | null;
}

export interface SignalScore {
  signal: HealthSignal;
  label: string;
  /** 0–100, null when the signal is missing */
  score: number | null;
  /** what was measured, in words */
  detail: string;
  /** the configured weight */
  weight: number;
  /** the weight actually applied after redistribution, in percent (0 when missing) */
  effective_weight: number;
  /** points this signal adds to the score */
  contribution: number;
}

export interface HealthResult {
  score: number | null;
  bucket: HealthBucket | null;
  breakdown: SignalScore[];
}

const clamp = (v: number) => Math.max(0, Math.min(100, v));
const round1 = (v: number) => Math.round(v * 10) / 10;

export function paymentSignal(status: string | null): { score: number | null; detail: string } {
  switch (status) {
    case 'paid':
      return { score: 100, detail: 'Last invoice paid' };
    case 'past_due':
      return { score: 40, detail: 'Last invoice past due' };
    case 'failing':
      return { score: 0, detail: 'Payment failing' };
    default:
      return { score: null, detail: 'No invoices' };
  }
}

/** Flat MRR scores 70; every +1% adds 1.4 points (full marks at about +21%), every −1% removes 1.4 (zero at −50%). */
export function mrrTrendSignal(now: Date, mrr: number | null, baseline: HealthInput['mrr_baseline']): { score: number | null; detail: string } {
  if (mrr == null || !baseline) return { score: null, detail: 'Not enough MRR history' };
  const days = (now.getTime() - baseline.at.getTime()) / DAY_MS;
  if (days < MIN_TREND_DAYS) return { score: null, detail: 'Not enough MRR history' };
  if (baseline.mrr <= 0) return mrr > 0 ? { score: 100, detail: `Started paying in the last ${Math.round(days)} days` } : { score: null, detail: 'No MRR' };
  const change = (mrr - baseline.mrr) / baseline.mrr;
  return { score: clamp(70 + 140 * change), detail: `${change >= 0 ? '+' : ''}${round1(change * 100)}% over ${Math.round(days)} days` };
}

export function tenureSignal(now: Date, startedAt: Date | null): { score: number | null; detail: string } {
  if (!startedAt) return { score: null, detail: 'Start date unknown' };
  const days = Math.max(0, (now.getTime() - startedAt.getTime()) / DAY_MS);
  const months = Math.floor(days / 30.44);
  return { score: clamp((days / FULL_TENURE_DAYS) * 100), detail: months >= 1 ? `${months} month${months === 1 ? '' : 's'}` : `${Math.floor(days)} days` };
}

/** The workspace median scores 50, twice the median or more scores 100. */
export function contractSizeSignal(mrr: number | null, median: number | null): { score: number | null; detail: string } {
  if (mrr == null || median == null || median <= 0) return { score: null, detail: 'No MRR to compare' };
  const ratio = mrr / median;
  return { score: clamp(50 * ratio), detail: `${round1(ratio)}× the workspace median MRR` };
}

export function engagementSignal(now: Date, lastActivityAt: Date | null): { score: number | null; detail: string } {
  if (!lastActivityAt) return { score: null, detail: 'No CRM activity recorded' };
  const days = Math.max(0, (now.getTime() - lastActivityAt.getTime()) / DAY_MS);
  const score = days <= ENGAGEMENT_FRESH_DAYS ? 100 : clamp(100 * (1 - (days - ENGAGEMENT_FRESH_DAYS) / (ENGAGEMENT_STALE_DAYS - ENGAGEMENT_FRESH_DAYS)));
  return { score, detail: `Last activity ${Math.floor(days)} days ago` };
}

export function bucketFor(score: number, t: HealthThresholds = DEFAULT_THRESHOLDS): HealthBucket {
  if (score >= t.healthy) return 'healthy';
  if (score >= t.watch) return 'watch';
  return 'at_risk';
}

export function computeHealth(input: HealthInput, weights: HealthWeights = DEFAULT_WEIGHTS, thresholds: HealthThresholds = DEFAULT_THRESHOLDS): HealthResult {
  const raw: Record<HealthSignal, { score: number | null; detail: string }> = {
    payment: paymentSignal(input.payment_status),
    mrr_trend: mrrTrendSignal(input.now, input.mrr, input.mrr_baseline),
    tenure: tenureSignal(input.now, input.started_at),
    contract_size: contractSizeSignal(input.mrr, input.workspace_median_mrr),
    engagement: engagementSignal(input.now, input.last_activity_at),
  };
  const present = HEALTH_SIGNALS.filter((s) => raw[s].score != null && (weights[s] ?? 0) > 0);
  const total = present.reduce((sum, s) => sum + weights[s], 0);
  const breakdown = HEALTH_SIGNALS.map((signal): SignalScore => {
    const { score, detail } = raw[signal];
    const share = score != null && total > 0 && present.includes(signal) ? weights[signal] / total : 0;
    return {
      signal,
      label: SIGNAL_LABELS[signal],
      score: score == null ? null : Math.round(score),
      detail,
      weight: weights[signal] ?? 0,
      effective_weight: round1(share * 100),
      contribution: round1(share * (score ?? 0)),
    };
  });
  if (total <= 0) return { score: null, bucket: null, breakdown };
  const score = Math.round(present.reduce((sum, s) => sum + (weights[s] / total) * raw[s].score!, 0));
  return { score, bucket: bucketFor(score, thresholds), breakdown };
}

/** A workspace's settings, checked: unknown or negative weights fall back to the defaults. */
export function healthSettings(settings: { health_weights?: unknown; health_thresholds?: unknown } | null | undefined): { weights: HealthWeights; thresholds: HealthThresholds } {
  const w = (settings?.health_weights ?? {}) as Record<string, unknown>;
  const weights = Object.fromEntries(HEALTH_SIGNALS.map((s) => [s, typeof w[s] === 'number' && Number.isFinite(w[s]) && (w[s] as number) >= 0 ? w[s] : DEFAULT_WEIGHTS[s]])) as HealthWeights;
  const t = (settings?.health_thresholds ?? {}) as Record<string, unknown>;
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100 ? v : d);
  const healthy = num(t.healthy, DEFAULT_THRESHOLDS.healthy);
  const watch = Math.min(num(t.watch, DEFAULT_THRESHOLDS.watch), healthy);
  return { weights, thresholds: { healthy, watch } };
}

/** The events a change of score raises: a drop of 10 or more, and a change of bucket. */
export function healthTransitions(previous: { score: number | null; bucket: string | null }, next: HealthResult): { dropped: boolean; bucketChanged: boolean } {
  if (previous.score == null || next.score == null) return { dropped: false, bucketChanged: false };
  return { dropped: previous.score - next.score >= 10, bucketChanged: previous.bucket != null && next.bucket !== previous.bucket };
}

/** Churned (and archived) customers keep the score they had when they left. */
export function healthFrozen(status: string): boolean {
  return status === 'churned' || status === 'archived';
}
