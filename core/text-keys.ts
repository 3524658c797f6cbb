// Text keys for lookups: lowercased names, one-edit keys and trigrams. One-edit keys find a
// whole name typed with one typo by point lookups; trigrams give typo-tolerant candidates for
// anything else. Both live in ordinary multikey indexes. Every key is
// built from at most MAX_KEY_LENGTH characters, so a pathological name (65,000 characters)
// costs no more to store, index or score than a long ordinary one.
export const MAX_KEY_LENGTH = 200;

export function lowerKey(s: string): string {
  return s.slice(0, MAX_KEY_LENGTH * 2).normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim().slice(0, MAX_KEY_LENGTH);
}

export function trigrams(s: string): string[] {
  const out = new Set<string>();
  for (const word of lowerKey(s).split(/[^\p{L}\p{N}]+/u)) {
    if (!word) continue;
    const padded = `  ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) out.add(padded.slice(i, i + 3));
  }
  return [...out];
}

export function searchGrams(name: string, domain: string | null | undefined): string[] {
  const label = domain ? domain.split('.')[0] ?? '' : '';
  return [...new Set([...trigrams(name), ...(label ? trigrams(label) : [])])];
}

/** characters of a name its one-edit keys cover (typos further along still match on the first ones) */
export const TYPO_KEY_LENGTH = 24;

/**
 * One-edit keys of a name (the symmetric-delete scheme of SymSpell): its words joined by one
 * space, cut to TYPO_KEY_LENGTH, plus each variant with one character deleted. A name and a
 * query one deletion, insertion, substitution or adjacent swap apart share a key, so a
 * mistyped whole name is found by exact index lookups instead of a scan of common trigrams.
 */
export function typoKeys(s: string): string[] {
  const words = lowerKey(s).split(/[^\p{L}\p{N}]+/u).filter(Boolean).join(' ');
  const chars = [...words];
  const cut = (cs: string[]) => cs.slice(0, TYPO_KEY_LENGTH).join('');
  if (!chars.length) return [];
  const out = new Set([cut(chars)]);
  for (let i = 0; i < Math.min(chars.length, TYPO_KEY_LENGTH); i++) out.add(cut([...chars.slice(0, i), ...chars.slice(i + 1)]));
  out.delete('');
  return [...out];
}
