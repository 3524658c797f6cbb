// Streams for downloads (customer exports, a customer's history.csv): rows are pulled from a
// database cursor as the client reads, so a 100,000-customer export never sits in memory.
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';

const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v !== null && typeof v === 'object' ? JSON.stringify(v) : v);

/** Leading = + - @ tab or CR make spreadsheets run a cell as a formula; a quote defuses it. */
export function defuseFormula(v: unknown): unknown {
  return typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

export function csvNodeStream(rows: AsyncIterable<Record<string, unknown>>, columns: readonly string[]): Readable {
  async function* cells() {
    for await (const r of rows) yield Object.fromEntries(columns.map((c) => [c, defuseFormula(cell(r[c]))]));
  }
  return Readable.from(cells()).pipe(stringify({ header: true, columns: [...columns] }));
}

export function csvStream(rows: AsyncIterable<Record<string, unknown>>, columns: readonly string[]): ReadableStream<Uint8Array> {
  return Readable.toWeb(csvNodeStream(rows, columns)) as unknown as ReadableStream<Uint8Array>;
}

export function jsonArrayStream(rows: AsyncIterable<unknown>): ReadableStream<Uint8Array> {
  async function* chunks() {
    yield '[';
    let first = true;
    for await (const r of rows) {
      yield `${first ? '\n' : ',\n'}${JSON.stringify(r)}`;
      first = false;
    }
    yield '\n]\n';
  }
  return Readable.toWeb(Readable.from(chunks())) as unknown as ReadableStream<Uint8Array>;
}
