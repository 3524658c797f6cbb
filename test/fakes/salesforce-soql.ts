// The SOQL subset the Salesforce fake understands, parsed the way Salesforce parses it:
// SELECT fields | COUNT() FROM object [WHERE …] [ORDER BY f [ASC|DESC], …] [LIMIT n], with
// AND / OR / NOT, parentheses, = != < <= > >= LIKE IN, string literals with backslash
// escapes, numbers, true/false/null, date and datetime literals. Anything else is a
// MALFORMED_QUERY, so a connector that builds SOQL by pasting user text gets caught here.

export type SoqlValue = string | number | boolean | null | Date;

export type Condition =
  | { op: 'and'; parts: Condition[] }
  | { op: 'or'; parts: Condition[] }
  | { op: 'not'; part: Condition }
  | { op: 'cmp'; field: string; cmp: '=' | '!=' | '<' | '<=' | '>' | '>=' | 'like'; value: SoqlValue }
  | { op: 'in'; field: string; values: SoqlValue[]; negate: boolean };

export interface SoqlQuery {
  count: boolean;
  fields: string[];
  object: string;
  where: Condition | null;
  orderBy: { field: string; desc: boolean }[];
  limit: number | null;
}

export class SoqlError extends Error {}

type Token = { t: 'word' | 'str' | 'num' | 'sym' | 'date'; v: string };

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= q.length) throw new SoqlError('unterminated string literal');
        const d = q[i]!;
        if (d === '\\') {
          const e = q[i + 1];
          const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '"': '"', "'": "'", '\\': '\\', _: '\\_', '%': '\\%' };
          if (e === undefined || !(e in map)) throw new SoqlError(`invalid escape sequence \\${e ?? ''}`);
          s += map[e];
          i += 2;
          continue;
        }
        if (d === "'") { i++; break; }
        s += d;
        i++;
      }
      out.push({ t: 'str', v: s });
      continue;
    }
    const dt = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2}))?/.exec(q.slice(i));
    if (dt) { out.push({ t: 'date', v: dt[0] }); i += dt[0].length; continue; }
    const num = /^-?\d+(\.\d+)?/.exec(q.slice(i));
    if (num) { out.push({ t: 'num', v: num[0] }); i += num[0].length; continue; }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i));
    if (word) { out.push({ t: 'word', v: word[0] }); i += word[0].length; continue; }
    const sym = /^(!=|<=|>=|<>|[=<>(),])/.exec(q.slice(i));
    if (sym) { out.push({ t: 'sym', v: sym[0] === '<>' ? '!=' : sym[0] }); i += sym[0].length; continue; }
    throw new SoqlError(`unexpected character '${c}'`);
  }
  return out;
}

export function parseSoql(q: string): SoqlQuery {
  const toks = tokenize(q);
  let p = 0;
  const peek = () => toks[p];
  const kw = (w: string) => peek()?.t === 'word' && peek()!.v.toUpperCase() === w;
  const expectKw = (w: string) => {
    if (!kw(w)) throw new SoqlError(`expecting ${w}, found '${peek()?.v ?? 'end of query'}'`);
    p++;
  };
  const sym = (s: string) => peek()?.t === 'sym' && peek()!.v === s;
  const ident = (): string => {
    const t = peek();
    if (t?.t !== 'word') throw new SoqlError(`expecting a field name, found '${t?.v ?? 'end of query'}'`);
    p++;
    return t.v;
  };
  const value = (): SoqlValue => {
    const t = toks[p++];
    if (!t) throw new SoqlError('expecting a value');
    if (t.t === 'str') return t.v;
    if (t.t === 'num') return Number(t.v);
    if (t.t === 'date') return new Date(t.v.length === 10 ? `${t.v}T00:00:00Z` : t.v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (t.t === 'word' && /^(true|false)$/i.test(t.v)) return t.v.toLowerCase() === 'true';
    if (t.t === 'word' && /^null$/i.test(t.v)) return null;
    throw new SoqlError(`unexpected token '${t.v}' where a value was expected`);
  };

  expectKw('SELECT');
  let count = false;
  const fields: string[] = [];
  if (kw('COUNT') && toks[p + 1]?.v === '(' && toks[p + 2]?.v === ')') {
    count = true;
    p += 3;
  } else {
    do fields.push(ident());
    while (sym(',') && ++p);
  }
  expectKw('FROM');
  const object = ident();

  const factor = (): Condition => {
    if (kw('NOT')) { p++; return { op: 'not', part: factor() }; }
    if (sym('(')) {
      p++;
      const c = expr();
      if (!sym(')')) throw new SoqlError("expecting ')'");
      p++;
      return c;
    }
    const field = ident();
    if (kw('IN') || (kw('NOT') && toks[p + 1]?.v.toUpperCase() === 'IN')) {
      const negate = kw('NOT');
      p += negate ? 2 : 1;
      if (!sym('(')) throw new SoqlError("expecting '(' after IN");
      p++;
      const values: SoqlValue[] = [];
      do values.push(value());
      while (sym(',') && ++p);
      if (!sym(')')) throw new SoqlError("expecting ')'");
      p++;
      return { op: 'in', field, values, negate };
    }
    let cmp: string;
    if (kw('LIKE')) { p++; cmp = 'like'; } else {
      const t = toks[p++];
      if (t?.t !== 'sym' || !['=', '!=', '<', '<=', '>', '>='].includes(t.v)) throw new SoqlError(`unexpected token '${t?.v ?? 'end of query'}' after ${field}`);
      cmp = t.v;
    }
    return { op: 'cmp', field, cmp: cmp as 'like', value: value() };
  };
  const term = (): Condition => {
    const parts = [factor()];
    while (kw('AND')) { p++; parts.push(factor()); }
    return parts.length === 1 ? parts[0]! : { op: 'and', parts };
  };
  const expr = (): Condition => {
    const parts = [term()];
    while (kw('OR')) { p++; parts.push(term()); }
    return parts.length === 1 ? parts[0]! : { op: 'or', parts };
  };

  let where: Condition | null = null;
  if (kw('WHERE')) { p++; where = expr(); }
  const orderBy: SoqlQuery['orderBy'] = [];
  if (kw('ORDER')) {
    p++;
    expectKw('BY');
    do {
      const field = ident();
      let desc = false;
      if (kw('ASC')) p++;
      else if (kw('DESC')) { p++; desc = true; }
      orderBy.push({ field, desc });
    } while (sym(',') && ++p);
  }
  let limit: number | null = null;
  if (kw('LIMIT')) {
    p++;
    const t = toks[p++];
    if (t?.t !== 'num' || !/^\d+$/.test(t.v)) throw new SoqlError('LIMIT needs a whole number');
    limit = Number(t.v);
  }
  if (p < toks.length) throw new SoqlError(`unexpected token: '${toks[p]!.v}'`);
  return { count, fields, object, where, orderBy, limit };
}

/** Every field a condition names (the fake checks they exist on the object). */
export function conditionFields(c: Condition | null): string[] {
  if (!c) return [];
  if (c.op === 'and' || c.op === 'or') return c.parts.flatMap(conditionFields);
  if (c.op === 'not') return conditionFields(c.part);
  return [c.field];
}

function comparable(v: unknown): number | string | boolean | null {
  if (v == null) return null;
  if (v instanceof Date) return v.getTime();
  return v as number | string | boolean;
}

export function compareValues(a: unknown, b: unknown): number {
  const x = comparable(a);
  const y = comparable(b);
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  return x < y ? -1 : 1;
}

function like(value: unknown, pattern: string): boolean {
  const re = pattern.replace(/[.*+?^${}()|[\]\\]/g, (m) => `\\${m}`).replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${re}$`, 'i').test(String(value ?? ''));
}

export function matches(c: Condition | null, rec: Record<string, unknown>, fieldOf: (name: string) => string): boolean {
  if (!c) return true;
  if (c.op === 'and') return c.parts.every((x) => matches(x, rec, fieldOf));
  if (c.op === 'or') return c.parts.some((x) => matches(x, rec, fieldOf));
  if (c.op === 'not') return !matches(c.part, rec, fieldOf);
  const v = rec[fieldOf(c.field)];
  const eq = (w: SoqlValue) => (typeof v === 'string' && typeof w === 'string' ? v.toLowerCase() === w.toLowerCase() : compareValues(v, w) === 0);
  if (c.op === 'in') return c.values.some(eq) !== c.negate;
  switch (c.cmp) {
    case '=': return eq(c.value);
    case '!=': return !eq(c.value);
    case 'like': return like(v, String(c.value));
    default: {
      if (v == null || c.value == null) return false;
      const r = compareValues(v, c.value);
      return c.cmp === '<' ? r < 0 : c.cmp === '<=' ? r <= 0 : c.cmp === '>' ? r > 0 : r >= 0;
    }
  }
}
