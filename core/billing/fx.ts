// Currency conversion for MRR: every amount Pivotal shows is USD cents. Rates are "USD
// value of one unit of the currency" (FX_RATES_USD, overridable per workspace), applied to
// Stripe's minor units with the currency's own exponent (JPY has none, KWD has three).
import { env } from '../env.ts';
import { AppError } from '../errors.ts';

export type FxRates = Record<string, number>;

/** A conservative built-in table, used when neither the environment nor the workspace sets one. */
export const DEFAULT_FX_RATES_USD: FxRates = {
  usd: 1, eur: 1.08, gbp: 1.27, cad: 0.73, aud: 0.66, nzd: 0.61, chf: 1.12, sek: 0.095, nok: 0.094, dkk: 0.145,
  pln: 0.25, czk: 0.043, huf: 0.0028, jpy: 0.0067, cny: 0.14, hkd: 0.128, sgd: 0.74, inr: 0.012, krw: 0.00073,
  brl: 0.18, mxn: 0.055, zar: 0.054, ils: 0.27, aed: 0.272, sar: 0.267, try: 0.031, kwd: 3.25, bhd: 2.65,
  ron: 0.22, bgn: 0.55, isk: 0.0072, uah: 0.024, thb: 0.028, php: 0.018, idr: 0.000062, myr: 0.22, twd: 0.031,
  vnd: 0.00004, pkr: 0.0036, bdt: 0.0083, lkr: 0.0033, clp: 0.00105, cop: 0.00025, pen: 0.27, ars: 0.001,
  egp: 0.02, ngn: 0.00065, kes: 0.0077, mad: 0.1, qar: 0.275, omr: 2.6, jod: 1.41,
};

// Stripe's zero-decimal and three-decimal currencies (https://docs.stripe.com/currencies).
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Minor units per major unit of a currency (100 for USD/EUR, 1 for JPY, 1000 for KWD). */
export function minorUnitsPerMajor(currency: string): number {
  const c = currency.toLowerCase();
  if (ZERO_DECIMAL.has(c)) return 1;
  if (THREE_DECIMAL.has(c)) return 1000;
  return 100;
}

export type FxSource = 'built-in' | 'environment' | 'workspace';

/**
 * The effective table with where each rate comes from: built-in defaults, overlaid by
 * FX_RATES_USD, overlaid by the workspace setting (the most specific source wins per
 * currency). USD is always 1.
 */
export function fxTable(workspaceRates?: Record<string, unknown> | null): Map<string, { rate: number; source: FxSource }> {
  const out = new Map<string, { rate: number; source: FxSource }>();
  for (const [k, v] of Object.entries(DEFAULT_FX_RATES_USD)) out.set(k, { rate: v, source: 'built-in' });
  for (const [k, v] of Object.entries(env().FX_RATES_USD ?? {})) out.set(k.toLowerCase(), { rate: v, source: 'environment' });
  for (const [k, v] of Object.entries(workspaceRates ?? {})) {
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) out.set(k.toLowerCase(), { rate: v, source: 'workspace' });
  }
  out.set('usd', { rate: 1, source: 'built-in' });
  return out;
}

/** The effective table's rates (see fxTable). */
export function resolveFxRates(workspaceRates?: Record<string, unknown> | null): FxRates {
  return Object.fromEntries([...fxTable(workspaceRates)].map(([c, r]) => [c, r.rate]));
}

/** A workspace document's own FX overrides (settings.fx_rates_usd), or none. */
export function workspaceFxRates(ws: { settings?: unknown } | null | undefined): Record<string, unknown> {
  return ((ws?.settings as { fx_rates_usd?: Record<string, unknown> | null } | undefined)?.fx_rates_usd ?? {}) as Record<string, unknown>;
}

/** A Stripe amount in a currency no FX table knows: that customer's billing cannot be computed. */
export class MissingFxRateError extends AppError {
  readonly currency: string;
  constructor(currency: string) {
    super('config', `No FX rate for ${currency.toUpperCase()}: add it to FX_RATES_USD or the workspace FX table`, { currency });
    this.currency = currency;
  }
}

/** Converts an amount in the currency's minor units to (fractional) USD cents. */
export function toUsdCents(amountMinor: number, currency: string, rates: FxRates): number {
  const c = currency.toLowerCase();
  if (c === 'usd') return amountMinor;
  const rate = rates[c];
  if (rate === undefined) throw new MissingFxRateError(c);
  return (amountMinor / minorUnitsPerMajor(c)) * rate * 100;
}
