// Shared plumbing for CLI commands: the database (MONGODB_URI, or this checkout's
// embedded engine, shared with a running `npm start`), option helpers and --json.
import { Option, type Command } from 'commander';
import { connectDatabase, type DatabaseHandle } from '../db/connection.ts';
import { AppError } from '../errors.ts';

let handle: DatabaseHandle | undefined;

export async function useDatabase(): Promise<DatabaseHandle> {
  handle ??= await connectDatabase({ say: (line) => process.stderr.write(`${line}\n`) });
  return handle;
}

export async function closeDatabase(): Promise<void> {
  const h = handle;
  handle = undefined;
  await h?.close();
}

export function jsonOption(cmd: Command): Command {
  return cmd.addOption(new Option('--json', 'print one JSON document on stdout'));
}

export function requireOption<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === null || value === '') throw new AppError('bad_input', `${flag} is required`);
  return value;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new AppError('bad_input', `${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
}
