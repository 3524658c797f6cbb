// Credentials inside provider messages never reach pages, logs or CSV exports.
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../core/errors.ts';

describe('redactSecrets', () => {
  it.each([
    ['Invalid API Key provided: sk_live_51HxAbCdEfGhIjKlMn', 'Invalid API Key provided: [redacted]'],
    ['code ac_LftcGNoGCc2JcHA4MfeDWk21 does not belong to you', 'code [redacted] does not belong to you'],
    ['token xoxb-1234-5678-abcdefgh revoked', 'token [redacted] revoked'],
    ['Authorization: Bearer eyJhbGciOi.payload.sig', 'Authorization: [redacted]'],
    ['secret whsec_abcdefghijklmnop', 'secret [redacted]'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('leaves ordinary messages alone', () => {
    expect(redactSecrets('Property "tier" does not exist (sk-1)')).toBe('Property "tier" does not exist (sk-1)');
  });
});
