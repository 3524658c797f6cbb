// One database per test run: the embedded engine on a free loopback port with a throwaway
// data directory, or any MongoDB 7+/Atlas given as PIVOTAL_TEST_MONGODB_URI. Test files get
// their own database on it (test/helpers/db.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureEngineBinary, freePort, startLocalDatabase } from '../core/db/local-database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** base URI without a database name, e.g. mongodb://127.0.0.1:1234 */
    mongoBaseUri: string;
    /** query string to append after the database name ('' or '?…') */
    mongoUriOptions: string;
  }
}

export default async function setup(project: TestProject) {
  const external = process.env.PIVOTAL_TEST_MONGODB_URI;
  if (external) {
    const u = new URL(external);
    project.provide('mongoBaseUri', `${u.protocol}//${u.username ? `${u.username}:${u.password}@` : ''}${u.host}`);
    project.provide('mongoUriOptions', u.search);
    return async () => {};
  }
  ensureEngineBinary((line) => console.log(line));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pivotal-test-db-'));
  const port = await freePort();
  const db = await startLocalDatabase({ port, dir });
  project.provide('mongoBaseUri', `mongodb://127.0.0.1:${port}`);
  project.provide('mongoUriOptions', '?directConnection=true');
  return async () => {
    await db.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
