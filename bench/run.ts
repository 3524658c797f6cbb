// `npm run bench`: runs every benchmark module in bench/ (each exports a run…Bench()
// returning a named table), each in a child process of its own so one benchmark's
// memory never shows in another's RSS, prints the tables and writes JSON under
// bench/results/. Figures are ratios measured within one run where a target asks for
// them: these machines are shared and noisy, so absolute numbers are context.
//   npm run bench            all benchmarks
//   npm run bench -- sync    only files whose name contains "sync"
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
process.env.NODE_ENV ??= 'test';
process.env.LOG_LEVEL ??= 'silent';

// The sync benchmark runs with the heap cap the worker role is deployed with (README:
// "Running roles separately"), since V8 otherwise lets garbage pile up far past what the
// job needs before collecting it. (The billing benchmark keeps its Stripe fake in the
// same process, so it runs uncapped.)
const NODE_FLAGS: Record<string, string[]> = {
  'sync.ts': ['--max-old-space-size=256'],
  'salesforce.ts': ['--max-old-space-size=256'],
};

async function runOne(file: string): Promise<boolean> {
  const mod = (await import(pathToFileURL(path.join(benchDir, file)).href)) as Record<string, unknown>;
  let ok = true;
  for (const [name, fn] of Object.entries(mod)) {
    if (!/^run\w*Bench$/.test(name) || typeof fn !== 'function') continue;
    console.log(`\n== ${file} ${name}${process.execArgv.length ? ` (node ${process.execArgv.join(' ')})` : ''}`);
    try {
      const result = await (fn as () => Promise<{ name: string; rows: Record<string, unknown>[]; notes?: string[] }>)();
      console.table(result.rows);
      for (const note of result.notes ?? []) console.log(`  ${note}`);
      const out = path.join(benchDir, 'results', `${result.name}.json`);
      fs.writeFileSync(out, JSON.stringify({ ...result, at: new Date().toISOString(), node: process.version, node_flags: process.execArgv }, null, 2));
      console.log(`  written ${path.relative(process.cwd(), out)}`);
    } catch (e) {
      ok = false;
      console.error(`  ${name} failed: ${e instanceof Error ? e.stack : String(e)}${e instanceof Error && e.cause ? `\n  cause: ${String((e.cause as Error).stack ?? e.cause)}` : ''}`);
    }
  }
  return ok;
}

fs.mkdirSync(path.join(benchDir, 'results'), { recursive: true });
const childFile = process.argv[2] === '--child' ? process.argv[3] : undefined;
if (childFile) {
  process.exit((await runOne(childFile)) ? 0 : 1);
}

const only = process.argv.slice(2);
const files = fs
  .readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = false;
for (const file of files) {
  const r = spawnSync(process.execPath, [...(NODE_FLAGS[file] ?? []), fileURLToPath(import.meta.url), '--child', file], { stdio: 'inherit', env: process.env });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
