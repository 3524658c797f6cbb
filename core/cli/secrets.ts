// Secret options (--token, --bot-token, --webhook-secret) without the secret on the command
// line, where `ps` and shell history would keep it: `-` reads it from stdin, `env:NAME`
// from the environment variable NAME. A literal value still works.
import { AppError } from '../errors.ts';

let stdinTakenBy: string | null = null;

async function readStdin(flag: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`Paste ${flag} and press Enter, then Ctrl-D:\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** The secret an option names: its value, stdin for `-`, or an environment variable for `env:NAME`. */
export async function secretOption(value: string | undefined, flag: string): Promise<string | undefined> {
  if (value === undefined) return undefined;
  let secret = value;
  if (value === '-') {
    if (stdinTakenBy) throw new AppError('bad_input', `${flag} -: stdin already holds ${stdinTakenBy}; pass one of them as env:NAME instead`);
    stdinTakenBy = flag;
    secret = (await readStdin(flag)).trim();
    if (!secret) throw new AppError('bad_input', `${flag} -: nothing was read from stdin`);
  } else if (value.startsWith('env:')) {
    const name = value.slice(4);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new AppError('bad_input', `${flag} env:NAME needs an environment variable name (got "${name}")`);
    secret = (process.env[name] ?? '').trim();
    if (!secret) throw new AppError('bad_input', `${flag} env:${name}: the environment variable ${name} is not set`);
  }
  return secret;
}

/** How the help text describes a secret option. */
export const SECRET_HELP = '(or - to read it from stdin, or env:NAME to read the environment variable NAME)';
