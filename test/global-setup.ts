// One FerretDB per test run, on a free loopback port with a throwaway data directory.
// Test files get their own database on it (test/helpers/db.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureFerretdbBinary, freePort, startLocalDatabase } from '../core/db/ferretdb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoPort: number;
  }
}

export default async function setup(project: TestProject) {
  ensureFerretdbBinary((line) => console.log(line));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pivotal-test-db-'));
  const port = await freePort();
  const db = await startLocalDatabase({ port, dir });
  project.provide('mongoPort', port);
  return async () => {
    await db.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
