// `npm run setup`, last step: provision the local database engine (SecantusDB's Rust server,
// built once per version into the per-user cache, skipped when already there) and the data dir.
import fs from 'node:fs';
import { ensureEngineBinary, ENGINE_CRATE, ENGINE_VERSION, binaryIsCurrent, engineBinary } from '../core/db/local-database.ts';
import { dataDir } from '../core/paths.ts';
import { errorMessage } from '../core/errors.ts';

try {
  if (binaryIsCurrent()) console.log(`Local database ${ENGINE_CRATE} ${ENGINE_VERSION} already built (${engineBinary}).`);
  else ensureEngineBinary((line) => console.log(line));
  fs.mkdirSync(dataDir, { recursive: true });
  console.log('Setup complete. Start Pivotal with: npm start');
} catch (e) {
  console.error(`setup failed: ${errorMessage(e)}`);
  process.exit(1);
}
