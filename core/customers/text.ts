// Text keys for lookups: lowercased names and trigrams. Trigrams give typo-tolerant
// candidate retrieval with an ordinary multikey index (no $text on FerretDB v1).
export function lowerKey(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
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
