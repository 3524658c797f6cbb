// The health score against hand-computed cases: each signal's edges, weight
// redistribution, bucket boundaries and the events a change raises.
import { describe, expect, it } from 'vitest';
import {
  bucketFor, computeHealth, contractSizeSignal, engagementSignal, healthFrozen, healthSettings, healthTransitions, mrrTrendSignal, paymentSignal, tenureSignal,
  type HealthInput,
} from '../../core/health/score.ts';

const now = new Date('2026-06-01T00:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
const base: HealthInput = { now, payment_status: null, mrr: null, mrr_baseline: null, started_at: null, workspace_median_mrr: null, last_activity_at: null };

describe('signals', () => {
  it('payment: paid 100, past due 40, failing 0, no invoices missing', () => {
    expect(paymentSignal('paid').score).toBe(100);
    expect(paymentSignal('past_due').score).toBe(40);
    expect(paymentSignal('failing').score).toBe(0);
    expect(paymentSignal('none').score).toBeNull();
    expect(paymentSignal(null).score).toBeNull();
  });

  it('MRR trend: flat 70, ±1.4 points per percent, clamped, needs 30 days of history', () => {
    expect(mrrTrendSignal(now, 10_000, { mrr: 10_000, at: daysAgo(90) }).score).toBe(70);
    expect(mrrTrendSignal(now, 11_000, { mrr: 10_000, at: daysAgo(90) }).score).toBeCloseTo(84);
    expect(mrrTrendSignal(now, 7_500, { mrr: 10_000, at: daysAgo(60) }).score).toBeCloseTo(35);
    expect(mrrTrendSignal(now, 12_500, { mrr: 10_000, at: daysAgo(60) }).score).toBe(100);
    expect(mrrTrendSignal(now, 5_000, { mrr: 10_000, at: daysAgo(60) }).score).toBe(0);
    expect(mrrTrendSignal(now, 0, { mrr: 10_000, at: daysAgo(60) }).score).toBe(0);
    expect(mrrTrendSignal(now, 10_000, { mrr: 10_000, at: daysAgo(29) }).score).toBeNull();
    expect(mrrTrendSignal(now, 10_000, { mrr: 10_000, at: daysAgo(30) }).score).toBe(70);
    expect(mrrTrendSignal(now, 5_000, { mrr: 0, at: daysAgo(45) }).score).toBe(100);
    expect(mrrTrendSignal(now, 0, { mrr: 0, at: daysAgo(45) }).score).toBeNull();
    expect(mrrTrendSignal(now, null, { mrr: 10_000, at: daysAgo(45) }).score).toBeNull();
    expect(mrrTrendSignal(now, 10_000, null).score).toBeNull();
  });

  it('tenure: linear to full marks at two years', () => {
    expect(tenureSignal(now, now).score).toBe(0);
    expect(tenureSignal(now, daysAgo(365)).score).toBe(50);
    expect(tenureSignal(now, daysAgo(730)).score).toBe(100);
    expect(tenureSignal(now, daysAgo(2000)).score).toBe(100);
    expect(tenureSignal(now, new Date(now.getTime() + 86_400_000)).score).toBe(0);
    expect(tenureSignal(now, null).score).toBeNull();
  });

  it('contract size: the median scores 50, twice the median 100', () => {
    expect(contractSizeSignal(10_000, 10_000).score).toBe(50);
    expect(contractSizeSignal(20_000, 10_000).score).toBe(100);
    expect(contractSizeSignal(30_000, 10_000).score).toBe(100);
    expect(contractSizeSignal(5_000, 10_000).score).toBe(25);
    expect(contractSizeSignal(0, 10_000).score).toBe(0);
    expect(contractSizeSignal(null, 10_000).score).toBeNull();
    expect(contractSizeSignal(10_000, null).score).toBeNull();
    expect(contractSizeSignal(10_000, 0).score).toBeNull();
  });

  it('engagement: full marks up to 7 days, none from 90 days', () => {
    expect(engagementSignal(now, daysAgo(0)).score).toBe(100);
    expect(engagementSignal(now, daysAgo(7)).score).toBe(100);
    expect(engagementSignal(now, daysAgo(48.5)).score).toBeCloseTo(50);
    expect(engagementSignal(now, daysAgo(90)).score).toBe(0);
    expect(engagementSignal(now, daysAgo(400)).score).toBe(0);
    expect(engagementSignal(now, null).score).toBeNull();
  });
});

describe('computeHealth', () => {
  it('weighs every signal with the default weights', () => {
    // payment 100·35 + trend 84·20 + tenure 50·15 + size 50·15 + engagement 100·15 = 8180 / 100 = 81.8
    const r = computeHealth({
      ...base, payment_status: 'paid', mrr: 11_000, mrr_baseline: { mrr: 10_000, at: daysAgo(90) }, started_at: daysAgo(365), workspace_median_mrr: 22_000, last_activity_at: daysAgo(3),
    });
    // contract size: 11,000 / 22,000 = 0.5× → 25, so 8180 − 375 = 7805 → 78
    expect(r.score).toBe(78);
    expect(r.bucket).toBe('healthy');
    expect(r.breakdown.map((b) => [b.signal, b.score, b.effective_weight])).toEqual([
      ['payment', 100, 35], ['mrr_trend', 84, 20], ['tenure', 50, 15], ['contract_size', 25, 15], ['engagement', 100, 15],
    ]);
    expect(r.breakdown.find((b) => b.signal === 'payment')!.contribution).toBe(35);
  });

  it('gives the weight of missing signals to the others', () => {
    // no Stripe: tenure 100 and engagement 50, 15 each → 50% each → 75
    const r = computeHealth({ ...base, started_at: daysAgo(730), last_activity_at: daysAgo(48.5) });
    expect(r.score).toBe(75);
    expect(r.bucket).toBe('healthy');
    const byName = Object.fromEntries(r.breakdown.map((b) => [b.signal, b]));
    expect(byName.tenure!.effective_weight).toBe(50);
    expect(byName.engagement!.effective_weight).toBe(50);
    expect(byName.payment!.effective_weight).toBe(0);
    expect(byName.payment!.score).toBeNull();
  });

  it('one signal alone carries all the weight', () => {
    const r = computeHealth({ ...base, payment_status: 'past_due' });
    expect(r.score).toBe(40);
    expect(r.bucket).toBe('watch');
    expect(r.breakdown.find((b) => b.signal === 'payment')!.effective_weight).toBe(100);
  });

  it('no signal at all is not scored', () => {
    expect(computeHealth(base)).toMatchObject({ score: null, bucket: null });
  });

  it('the worst case scores 0', () => {
    const r = computeHealth({ ...base, payment_status: 'failing', mrr: 0, mrr_baseline: { mrr: 10_000, at: daysAgo(80) }, started_at: now, workspace_median_mrr: 10_000, last_activity_at: daysAgo(120) });
    expect(r).toMatchObject({ score: 0, bucket: 'at_risk' });
  });

  it('uses workspace weights; a zero weight drops the signal', () => {
    // payment 100 (weight 0, ignored), engagement 0 (weight 10), tenure 100 (weight 30) → 75
    const weights = { payment: 0, mrr_trend: 20, tenure: 30, contract_size: 15, engagement: 10 };
    const r = computeHealth({ ...base, payment_status: 'paid', started_at: daysAgo(730), last_activity_at: daysAgo(90) }, weights);
    expect(r.score).toBe(75);
  });
});

describe('buckets and settings', () => {
  it('default boundaries: healthy 70–100, watch 40–69, at risk 0–39', () => {
    expect(bucketFor(100)).toBe('healthy');
    expect(bucketFor(70)).toBe('healthy');
    expect(bucketFor(69)).toBe('watch');
    expect(bucketFor(40)).toBe('watch');
    expect(bucketFor(39)).toBe('at_risk');
    expect(bucketFor(0)).toBe('at_risk');
  });

  it('workspace boundaries move the buckets', () => {
    const t = { healthy: 80, watch: 50 };
    expect(bucketFor(79, t)).toBe('watch');
    expect(bucketFor(80, t)).toBe('healthy');
    expect(bucketFor(49, t)).toBe('at_risk');
  });

  it('bad settings fall back to the defaults', () => {
    const s = healthSettings({ health_weights: { payment: -1, tenure: 'x', engagement: 5 }, health_thresholds: { healthy: 300, watch: 90 } });
    expect(s.weights).toEqual({ payment: 35, mrr_trend: 20, tenure: 15, contract_size: 15, engagement: 5 });
    expect(s.thresholds).toEqual({ healthy: 70, watch: 70 });
    expect(healthSettings(null).thresholds).toEqual({ healthy: 70, watch: 40 });
  });
});

describe('transitions and freezing', () => {
  it('a drop of exactly 10 raises an event, 9 does not', () => {
    expect(healthTransitions({ score: 80, bucket: 'healthy' }, { score: 70, bucket: 'healthy', breakdown: [] })).toEqual({ dropped: true, bucketChanged: false });
    expect(healthTransitions({ score: 80, bucket: 'healthy' }, { score: 71, bucket: 'healthy', breakdown: [] })).toEqual({ dropped: false, bucketChanged: false });
  });

  it('a bucket change raises an event either way; the first score raises nothing', () => {
    expect(healthTransitions({ score: 72, bucket: 'healthy' }, { score: 69, bucket: 'watch', breakdown: [] })).toEqual({ dropped: false, bucketChanged: true });
    expect(healthTransitions({ score: 35, bucket: 'at_risk' }, { score: 45, bucket: 'watch', breakdown: [] }).bucketChanged).toBe(true);
    expect(healthTransitions({ score: null, bucket: null }, { score: 10, bucket: 'at_risk', breakdown: [] })).toEqual({ dropped: false, bucketChanged: false });
  });

  it('churned and archived customers are frozen', () => {
    expect(healthFrozen('churned')).toBe(true);
    expect(healthFrozen('archived')).toBe(true);
    expect(healthFrozen('active')).toBe(false);
    expect(healthFrozen('at_risk')).toBe(false);
  });
});

describe('nightly schedule', async () => {
  const { nightlyDayDue } = await import('../../core/health/jobs.ts');
  it('is due from 02:00 workspace time, once per local day', () => {
    expect(nightlyDayDue(new Date('2026-06-01T01:59:00Z'), 'UTC')).toBeNull();
    expect(nightlyDayDue(new Date('2026-06-01T02:00:00Z'), 'UTC')).toBe('2026-06-01');
    // Paris is UTC+2 in June: 00:30 UTC is 02:30 there
    expect(nightlyDayDue(new Date('2026-06-01T00:30:00Z'), 'Europe/Paris')).toBe('2026-06-01');
    // New York is UTC−4: 05:00 UTC is 01:00 there, still the night before
    expect(nightlyDayDue(new Date('2026-06-01T05:00:00Z'), 'America/New_York')).toBeNull();
    expect(nightlyDayDue(new Date('2026-06-01T03:00:00Z'), 'Not/AZone')).toBe('2026-06-01');
  });
});
