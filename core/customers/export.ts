// Streams for downloads (customer exports, a customer's history.csv): rows are pulled from a
// database cursor as the client reads, so a 100,000-customer export never sits in memory.
// Cells are made safe exactly as core/csv.ts's toCsv() does for the in-memory files.
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { safeCsvText } from '../csv.ts';

/** One cell as toCsv() writes it: dates ISO 8601, objects JSON, text made safe for spreadsheets. */
const cell = (v: unknown) => {
  const text = v instanceof Date ? v.toISOString() : v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
  return typeof text === 'string' ? safeCsvText(text) : text;
};

export function csvNodeStream(rows: AsyncIterable<Record<string, unknown>>, columns: readonly string[]): Readable {
  async function* cells() {
    for await (const r of rows) yield Object.fromEntries(columns.map((c) => [c, cell(r[c])]));
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
