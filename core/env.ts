// The process environment, validated once with zod. A bad value fails fast with one
// line per offending variable; production refuses to start without its secrets. In
// development SESSION_SECRET and ENCRYPTION_KEY are generated once into .data/.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { z } from 'zod';
import { dataDir } from './paths.ts';

const ROLES = ['portal', 'bot', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const url = (what: string) =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, `must be an http(s) URL (${what})`);

const port = z.coerce.number().int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

const base64Key32 = z.string().refine((v) => {
  try {
    return Buffer.from(v, 'base64').length === 32;
  } catch {
    return false;
  }
}, 'must be base64 of exactly 32 bytes (openssl rand -base64 32)');

const fxRates = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object like {"eur":1.08}' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().regex(/^[a-z]{3}$/i, 'currency codes are 3 letters'), z.number().positive('rates must be positive')));

const optionalNonEmpty = z.string().min(1, 'must not be empty').optional();

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\/.+/, 'must start with mongodb:// or mongodb+srv://')
      .optional(),
    PORT: port.default(3000),
    SLACK_PORT: port.default(3001),
    // Unset: http://localhost:PORT, so printed URLs and links follow PORT.
    APP_URL: url('public base URL of the portal').optional(),
    SESSION_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    ENCRYPTION_KEY: base64Key32.optional(),
    SLACK_SIGNING_SECRET: optionalNonEmpty,
    SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'must be a bot token (xoxb-…)').optional(),
    SLACK_CLIENT_ID: optionalNonEmpty,
    SLACK_CLIENT_SECRET: optionalNonEmpty,
    SLACK_STATE_SECRET: optionalNonEmpty,
    SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must be an app-level token (xapp-…)').optional(),
    SLACK_API_URL: url('Slack Web API base').default('https://slack.com/api/'),
    HUBSPOT_CLIENT_ID: optionalNonEmpty,
    HUBSPOT_CLIENT_SECRET: optionalNonEmpty,
    HUBSPOT_API_BASE_URL: url('HubSpot API base').default('https://api.hubapi.com'),
    HUBSPOT_AUTH_URL: url('HubSpot consent screen').default('https://app.hubspot.com/oauth/authorize'),
    SALESFORCE_CLIENT_ID: optionalNonEmpty,
    SALESFORCE_CLIENT_SECRET: optionalNonEmpty,
    SALESFORCE_LOGIN_URL: url('Salesforce OAuth host').default('https://login.salesforce.com'),
    STRIPE_CLIENT_ID: optionalNonEmpty,
    STRIPE_SECRET_KEY: optionalNonEmpty,
    STRIPE_API_BASE_URL: url('Stripe API base').default('https://api.stripe.com'),
    STRIPE_CONNECT_BASE_URL: url('Stripe OAuth host').default('https://connect.stripe.com'),
    FX_RATES_USD: fxRates.optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Additions (documented in the README).
    PIVOTAL_ROLES: z
      .string()
      .default('portal,bot,worker')
      .transform((v, ctx) => {
        const roles = v.split(',').map((r) => r.trim()).filter(Boolean);
        const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
        if (bad.length || roles.length === 0) {
          ctx.addIssue({ code: 'custom', message: `must be a comma list of ${ROLES.join(', ')} (got "${v}")` });
          return z.NEVER;
        }
        return [...new Set(roles)] as Role[];
      }),
    PIVOTAL_DB_PORT: port.default(27117),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    PIVOTAL_SYNC_PAGES_PER_SLICE: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(10_000, 'must be at most 10000').default(25),
    PIVOTAL_ADMIN_EMAIL: z.string().email('must be an email address').default('admin@localhost.localdomain'),
    SLACK_PUBLIC_URL: url('where Slack reaches the bot').optional(),
    // Express "trust proxy" (hop count, or addresses/subnets); unset: X-Forwarded-* is ignored.
    TRUST_PROXY: z
      .string()
      .refine((v) => /^\d{1,2}$/.test(v.trim()) || v.split(',').every((p) => /^(loopback|linklocal|uniquelocal|[0-9a-f.:]+(\/\d{1,3})?)$/i.test(p.trim())), 'must be a hop count (1) or a comma list of addresses/subnets (loopback, 10.0.0.0/8)')
      .optional(),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== 'production') return;
    for (const key of ['MONGODB_URI', 'SESSION_SECRET', 'ENCRYPTION_KEY'] as const) {
      if (!env[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required in production' });
    }
  });

export type Env = z.infer<typeof envSchema> & { APP_URL: string; SESSION_SECRET: string; ENCRYPTION_KEY: string };

export class EnvError extends Error {
  readonly lines: string[];
  constructor(lines: string[]) {
    super(`Invalid environment:\n${lines.map((l) => `  ${l}`).join('\n')}`);
    this.name = 'EnvError';
    this.lines = lines;
  }
}

/** Parses an environment object; throws EnvError listing every bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const byVar = new Map<string, string>();
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? 'environment');
      if (!byVar.has(key)) byVar.set(key, `${key}: ${issue.message}`);
    }
    throw new EnvError([...byVar.values()]);
  }
  const env = result.data;
  const secrets = env.SESSION_SECRET && env.ENCRYPTION_KEY ? null : devSecrets();
  return {
    ...env,
    APP_URL: env.APP_URL ?? `http://localhost:${env.PORT}`,
    SESSION_SECRET: env.SESSION_SECRET ?? secrets!.SESSION_SECRET,
    ENCRYPTION_KEY: env.ENCRYPTION_KEY ?? secrets!.ENCRYPTION_KEY,
  };
}

/** Development secrets, generated once and kept under .data/ so sessions and encrypted tokens survive restarts. */
function devSecrets(): { SESSION_SECRET: string; ENCRYPTION_KEY: string } {
  const file = path.join(dataDir, 'secrets.json');
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { SESSION_SECRET?: string; ENCRYPTION_KEY?: string };
    if (parsed.SESSION_SECRET && parsed.ENCRYPTION_KEY) return { SESSION_SECRET: parsed.SESSION_SECRET, ENCRYPTION_KEY: parsed.ENCRYPTION_KEY };
  } catch {
    // first run: fall through and generate
  }
  const secrets = {
    SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
  };
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
    return secrets;
  } catch {
    // another process won the race: use what it wrote
    return JSON.parse(fs.readFileSync(file, 'utf8')) as typeof secrets;
  }
}

/**
 * Why this environment must not serve a public deployment: an https APP_URL outside
 * production would show stack traces in pages and run on generated per-instance secrets.
 */
export function productionSafetyProblems(e: Env): string[] {
  if (e.APP_URL.startsWith('https://') && e.NODE_ENV !== 'production') {
    return [`NODE_ENV: must be "production" when APP_URL is https (${e.APP_URL}); development mode shows stack traces and generates its own secrets`];
  }
  return [];
}

let cached: Env | undefined;
/** The validated environment of this process, parsed on first use. */
export function env(): Env {
  cached ??= parseEnv();
  return cached;
}

/** Tests and the CLI re-read the environment after changing process.env. */
export function resetEnvCache(): void {
  cached = undefined;
}
