// One-edit keys (core/text-keys.ts): a name and any string one deletion, insertion,
// substitution or adjacent swap away share a key; two edits apart usually do not; long
// names cost a bounded number of keys.
import { describe, expect, it } from 'vitest';
import { TYPO_KEY_LENGTH, typoKeys } from '../../core/text-keys.ts';

const share = (a: string, b: string) => typoKeys(a).some((k) => typoKeys(b).includes(k));

describe('typoKeys', () => {
  const name = 'Acme Globex Labs 12345';
  it.each([
    ['deletion', 'Acm Globex Labs 12345'],
    ['insertion', 'Acmme Globex Labs 12345'],
    ['substitution', 'Acne Globex Labs 12345'],
    ['adjacent swap', 'Amce Globex Labs 12345'],
    ['case, punctuation and spacing', 'acme,  globex labs 12345'],
    ['a typo past the covered length', 'Acme Globex Labs 12345 Holdings Internationl'],
  ])('finds a name across a %s', (_what, typed) => {
    const full = typed.includes('Holdings') ? 'Acme Globex Labs 12345 Holdings International' : name;
    expect(share(full, typed)).toBe(true);
  });

  it('does not match names two unrelated edits apart', () => {
    expect(share(name, 'Acne Glabex Labs 12345')).toBe(false);
    expect(share('Initech', 'Globex')).toBe(false);
  });

  it('costs at most TYPO_KEY_LENGTH + 1 keys of at most TYPO_KEY_LENGTH characters', () => {
    const keys = typoKeys(`Huge ${'x'.repeat(65_000)}`);
    expect(keys.length).toBeLessThanOrEqual(TYPO_KEY_LENGTH + 1);
    expect(Math.max(...keys.map((k) => [...k].length))).toBeLessThanOrEqual(TYPO_KEY_LENGTH);
    expect(typoKeys('  ,, ')).toEqual([]);
  });
});
