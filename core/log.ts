// Structured logs (pino). Secrets are redacted by path so a token, key or cookie never
// reaches a log line, whatever object a caller hands in.
import { pino, type Logger } from 'pino';

export const redactPaths = [
  '*.token', '*.access_token', '*.accessToken', '*.refresh_token', '*.refreshToken', '*.bot_token', '*.botToken',
  '*.password', '*.secret', '*.client_secret', '*.clientSecret', '*.signing_secret', '*.api_key', '*.apiKey',
  '*.credentials', '*.authorization', '*.Authorization', '*.cookie', '*.ENCRYPTION_KEY', '*.SESSION_SECRET',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie',
  'token', 'access_token', 'refresh_token', 'credentials', 'secret',
];

function level(): string {
  const l = process.env.LOG_LEVEL;
  if (l && ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(l)) return l;
  if (process.env.NODE_ENV === 'test' || process.env.VITEST) return 'silent';
  return process.env.PIVOTAL_CLI === '1' ? 'warn' : 'info';
}

// The CLI keeps stdout for its own output (--json must be one clean document).
const toStderr = process.env.PIVOTAL_CLI === '1';

const options = {
  level: level(),
  base: { app: 'pivotal' },
  redact: { paths: redactPaths, censor: '[redacted]' },
};
// People at a terminal get readable lines; everything else (CI, production) gets JSON.
const pretty = !toStderr && process.stdout.isTTY && process.env.NODE_ENV !== 'production';

export const log: Logger = pretty
  ? pino({ ...options, transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname,app', translateTime: 'HH:MM:ss' } } })
  : pino(options, pino.destination({ fd: toStderr ? 2 : 1, sync: toStderr }));

export function childLog(bindings: Record<string, unknown>): Logger {
  return log.child(bindings);
}
