// Errors that carry a stable code (for logs, programs and tests) and a human message
// (for the person who has to act on it). Anything else thrown is a bug.
export type ErrorCode =
  | 'bad_input'
  | 'not_found'
  | 'conflict'
  | 'duplicate'
  | 'unauthorized'
  | 'forbidden'
  | 'config'
  | 'unavailable'
  | 'auth_expired'
  | 'rate_limited'
  | 'cursor_invalid'
  | 'temporary'
  | 'permanent'
  | 'internal';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** MongoDB duplicate-key error (E11000), as thrown by the driver. */
export function isDuplicateKeyError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 11000;
}

/**
 * Turns a duplicate-key error into a clear AppError naming what collided; other
 * errors pass through unchanged.
 */
export function explainDuplicateKey(e: unknown, what: string): unknown {
  if (!isDuplicateKeyError(e)) return e;
  const keyValue = (e as { keyValue?: Record<string, unknown> }).keyValue;
  const detail = keyValue ? ` (${Object.entries(keyValue).map(([k, v]) => `${k}=${String(v)}`).join(', ')})` : '';
  return new AppError('duplicate', `${what} already exists${detail}`, { keyValue });
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

// Provider-issued secrets that may appear inside provider error messages: API keys,
// OAuth codes and tokens, webhook secrets, Slack tokens.
const SECRET_PATTERN = /\b(?:sk|rk|pk|ac|whsec|acct_secret)_(?:live_|test_)?[A-Za-z0-9]{8,}|\bxox[abpre]-[A-Za-z0-9-]{6,}|\bBearer\s+[A-Za-z0-9._~+/-]{8,}/g;

/** Removes anything that looks like a credential from a message before it is shown or logged. */
export function redactSecrets(message: string): string {
  return message.replace(SECRET_PATTERN, '[redacted]');
}
