// CSV for people who open it in a spreadsheet (CLI `--format csv`, portal downloads):
// every file Pivotal writes goes through toCsv(), so data from a source (a company named
// `=HYPERLINK(…)`, a terminal escape in a HubSpot field) is shown as text and never run.
import { stringify } from 'csv-stringify/sync';

// ESC [ … final byte (CSI, colours and cursor moves), ESC ] … BEL/ST (OSC, e.g. terminal titles), lone ESC x.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]/g;
// C0 and C1 controls except tab, line feed and carriage return (legitimate inside a quoted cell).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
// Spreadsheets evaluate a cell starting with one of these as a formula (OWASP "CSV injection").
const FORMULA_START = /^[=+\-@\t\r]/;

/** Text with terminal escape sequences and control characters removed (tab and line breaks kept). */
export function stripTerminalEscapes(value: string): string {
  return value.replace(ANSI, '').replace(CONTROL, '');
}

/** One text cell made safe: escape sequences and control characters removed, formulas quoted with a leading apostrophe. */
export function safeCsvText(value: string): string {
  const clean = stripTerminalEscapes(value);
  return FORMULA_START.test(clean) ? `'${clean}` : clean;
}

/** Rows as CSV with a header line; dates as ISO 8601, objects as JSON, every text cell through safeCsvText(). */
export function toCsv(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  return stringify(rows as Record<string, unknown>[], {
    header: true,
    columns: [...columns],
    cast: {
      string: (s) => safeCsvText(s),
      date: (d) => d.toISOString(),
      object: (o) => safeCsvText(JSON.stringify(o)),
      boolean: (b) => String(b),
    },
  });
}
