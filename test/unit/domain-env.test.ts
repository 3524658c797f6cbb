// Pure edges: domain normalisation (the default match key) and environment parsing.
import { describe, expect, it } from 'vitest';
import { normalizeDomain, domainFromEmail } from '../../core/domain.ts';
import { parseEnv, EnvError } from '../../core/env.ts';

describe('normalizeDomain', () => {
  it.each([
    ['WWW.Acme.com', 'acme.com'],
    ['https://acme.com/', 'acme.com'],
    ['http://www.acme.com:8080/pricing?x=1#top', 'acme.com'],
    ['  Acme.COM.  ', 'acme.com'],
    ['sales@acme.co.uk', 'acme.co.uk'],
    ['münchen.de', 'xn--mnchen-3ya.de'],
    ['//cdn.acme.io/path', 'cdn.acme.io'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });

  it.each(['', '   ', 'not a domain', 'localhost', 'http://', 'acme', null, undefined])('rejects %s', (input) => {
    expect(normalizeDomain(input as string)).toBeNull();
  });

  it('takes the domain of an email address', () => {
    expect(domainFromEmail('Jane.Doe@Sub.Example.org')).toBe('sub.example.org');
    expect(domainFromEmail('nobody')).toBeNull();
  });
});

describe('parseEnv', () => {
  const base = { SESSION_SECRET: 'x'.repeat(32), ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') };

  it('applies the contract defaults', () => {
    const e = parseEnv(base);
    expect(e).toMatchObject({ PORT: 3000, SLACK_PORT: 3001, APP_URL: 'http://localhost:3000', SLACK_API_URL: 'https://slack.com/api/', STRIPE_API_BASE_URL: 'https://api.stripe.com', LOG_LEVEL: 'info' });
    expect(e.PIVOTAL_ROLES).toEqual(['portal', 'bot', 'worker']);
  });

  it('derives APP_URL from PORT when unset, so printed URLs and links follow PORT', () => {
    expect(parseEnv({ PORT: '4567', SESSION_SECRET: 'x'.repeat(16), ENCRYPTION_KEY: Buffer.alloc(32).toString('base64') }).APP_URL).toBe('http://localhost:4567');
    expect(parseEnv({ PORT: '4567', APP_URL: 'https://p.example.com', SESSION_SECRET: 'x'.repeat(16), ENCRYPTION_KEY: Buffer.alloc(32).toString('base64') }).APP_URL).toBe('https://p.example.com');
  });

  it('names every bad variable, one line each', () => {
    try {
      parseEnv({ ...base, PORT: '99999', ENCRYPTION_KEY: 'short', FX_RATES_USD: '{"eur":-1}', SLACK_BOT_TOKEN: 'xoxp-1' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EnvError);
      const lines = (e as EnvError).lines;
      expect(lines.map((l) => l.split(':')[0]).sort()).toEqual(['ENCRYPTION_KEY', 'FX_RATES_USD', 'PORT', 'SLACK_BOT_TOKEN']);
      expect((e as EnvError).message).not.toContain('short');
    }
  });

  it('parses the FX table and role lists', () => {
    const e = parseEnv({ ...base, FX_RATES_USD: '{"eur":1.08,"GBP":1.27}', PIVOTAL_ROLES: 'worker, portal' });
    expect(e.FX_RATES_USD).toEqual({ eur: 1.08, GBP: 1.27 });
    expect(e.PIVOTAL_ROLES).toEqual(['worker', 'portal']);
  });
});
