// Text keys for lookups: lowercased names and trigrams. Trigrams give typo-tolerant
// candidate retrieval through an ordinary multikey index on `search_grams`. Every key is
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

