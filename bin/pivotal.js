#!/usr/bin/env node
// The operator CLI entry (`npx pivotal …`). Pivotal's TypeScript runs on Node 24's
// native type stripping; under an older node on PATH, re-run with the pinned one.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const pinned = path.join(root, 'node_modules', 'node', 'bin', 'node');
  if (!fs.existsSync(pinned)) {
    process.stderr.write(`error: Pivotal needs Node.js 24 (found ${process.versions.node}); run npm run setup first\n`);
    process.exit(1);
  }
  const r = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
process.env.PIVOTAL_CLI = '1';
await import('../core/cli/main.ts');
