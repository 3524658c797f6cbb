// `npm run setup`, last step: provision the local database engine (build FerretDB once
// into .cache/, skipped when the pinned version is already there) and the data dir.
import fs from 'node:fs';
import { ensureFerretdbBinary, FERRETDB_VERSION, binaryIsCurrent } from '../core/db/ferretdb.ts';
import { dataDir } from '../core/paths.ts';
import { errorMessage } from '../core/errors.ts';

try {
  if (binaryIsCurrent()) console.log(`FerretDB ${FERRETDB_VERSION} already built (cached).`);
  else ensureFerretdbBinary((line) => console.log(line));
  fs.mkdirSync(dataDir, { recursive: true });
  console.log('Setup complete. Start Pivotal with: npm start');
} catch (e) {
  console.error(`setup failed: ${errorMessage(e)}`);
  process.exit(1);
}
