// Slack Web API clients for core (alerts, App Home data lookups). Classifies Slack's
// errors into the few cases callers act on, so no caller parses SDK error shapes.
import { WebClient, type RetryOptions } from '@slack/web-api';
import { env } from '../env.ts';

let retryOverride: RetryOptions | undefined;
/** Tests shrink Slack retries so a failing fake answers fast. */
export function setSlackRetryConfig(retry: RetryOptions | undefined): void {
  retryOverride = retry;
}

/** `retries: 0` for calls that must not be repeated blindly (a post whose answer was lost may have happened). */
export function slackClient(token: string, opts: { retries?: number } = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: env().SLACK_API_URL,
    // Rate limits are rescheduled through Agenda (Retry-After) instead of sleeping in a worker.
    rejectRateLimitedCalls: true,
    retryConfig: opts.retries !== undefined ? { retries: opts.retries } : (retryOverride ?? { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 }),
    timeout: 10_000,
  });
}

export type SlackFailure =
  | { kind: 'rate_limited'; retryAfterSec: number }
  | { kind: 'auth'; error: string }
  | { kind: 'channel_gone'; error: string }
  | { kind: 'not_in_channel'; error: string }
  | { kind: 'other'; error: string; retryable: boolean };

const AUTH_ERRORS = new Set(['invalid_auth', 'token_revoked', 'account_inactive', 'not_authed', 'token_expired', 'no_permission', 'team_access_not_granted']);
const CHANNEL_GONE = new Set(['channel_not_found', 'is_archived']);

export function classifySlackError(err: unknown): SlackFailure {
  const e = err as { code?: string; data?: { error?: string }; retryAfter?: number; message?: string; statusCode?: number };
  if (e?.code === 'slack_webapi_rate_limited_error') return { kind: 'rate_limited', retryAfterSec: Math.max(1, Number(e.retryAfter) || 30) };
  const error = e?.data?.error;
  if (e?.code === 'slack_webapi_platform_error' && error) {
    if (error === 'ratelimited') return { kind: 'rate_limited', retryAfterSec: 30 };
    if (AUTH_ERRORS.has(error)) return { kind: 'auth', error };
    if (CHANNEL_GONE.has(error)) return { kind: 'channel_gone', error };
    if (error === 'not_in_channel') return { kind: 'not_in_channel', error };
    return { kind: 'other', error, retryable: error === 'internal_error' || error === 'fatal_error' || error === 'service_unavailable' };
  }
  // HTTP 5xx or a network failure after the client's own retries: try again later.
  return { kind: 'other', error: e?.message ?? String(err), retryable: true };
}
