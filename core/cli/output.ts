// CLI output: --json prints exactly one JSON document on stdout; otherwise a short
// human rendering. Errors are one line on stderr and a non-zero exit.
import { stripTerminalEscapes, toCsv } from '../csv.ts';
import { AppError, errorMessage, isAppError } from '../errors.ts';
import { EnvError } from '../env.ts';

export class CliExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printCsv(rows: Record<string, unknown>[], columns: readonly string[]): void {
  process.stdout.write(toCsv(rows, columns));
}

export function printTable(rows: Record<string, unknown>[], columns: readonly string[]): void {
  // Source data reaches a terminal here: no escape sequence or line break from a record gets through.
  const cells = rows.map((r) => columns.map((c) => (r[c] == null ? '' : stripTerminalEscapes(String(r[c])).replace(/[\t\r\n]+/g, ' '))));
  const widths = columns.map((c, i) => Math.min(40, Math.max(c.length, ...cells.map((row) => row[i]!.length))));
  const fmt = (row: string[]) => row.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join('  ').trimEnd();
  printLine(fmt([...columns]));
  for (const row of cells) printLine(fmt(row));
}

/** Exit code for an error: 2 for bad input (usage), 1 for everything else. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof EnvError) return 2;
  if (isAppError(e) && (e.code === 'bad_input' || e.code === 'not_found' || e.code === 'conflict' || e.code === 'duplicate')) return 2;
  return 1;
}

export function errorLine(e: unknown): string {
  if (e instanceof EnvError) return `error: invalid environment: ${e.lines.join('; ')}`;
  const msg = isAppError(e) ? e.message : errorMessage(e);
  return `error: ${msg.replace(/\s*\n\s*/g, ' ')}`;
}

export function fail(message: string, code: ConstructorParameters<typeof AppError>[0] = 'bad_input'): never {
  throw new AppError(code, message);
}
