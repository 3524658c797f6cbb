// `npm run bench`: runs every benchmark module in bench/ (each exports a run…Bench()
// returning a named table), prints the tables and writes JSON under bench/results/.
// Figures are ratios measured within one run where a target asks for them: these
// machines are shared and noisy, so absolute numbers are context, not verdicts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = fs
  .readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

process.env.NODE_ENV ??= 'test';
process.env.LOG_LEVEL ??= 'silent';
fs.mkdirSync(path.join(benchDir, 'results'), { recursive: true });
let failed = false;
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(benchDir, file)).href)) as Record<string, unknown>;
  for (const [name, fn] of Object.entries(mod)) {
    if (!/^run\w*Bench$/.test(name) || typeof fn !== 'function') continue;
    console.log(`\n== ${file} ${name}`);
    try {
      const result = (await (fn as () => Promise<{ name: string; rows: Record<string, unknown>[]; notes?: string[] }>)());
      console.table(result.rows);
      for (const note of result.notes ?? []) console.log(`  ${note}`);
      const out = path.join(benchDir, 'results', `${result.name}.json`);
      fs.writeFileSync(out, JSON.stringify({ ...result, at: new Date().toISOString(), node: process.version }, null, 2));
      console.log(`  written ${path.relative(process.cwd(), out)}`);
    } catch (e) {
      failed = true;
      console.error(`  ${name} failed: ${e instanceof Error ? e.stack : String(e)}`);
    }
  }
}
process.exit(failed ? 1 : 0);
