// Where things live on disk for this checkout: the repository root, the local data
// directory (.data/) and the build cache (.cache/). Everything else derives from these.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const dataDir = process.env.PIVOTAL_DATA_DIR ? path.resolve(process.env.PIVOTAL_DATA_DIR) : path.join(repoRoot, '.data');
export const cacheDir = path.join(repoRoot, '.cache');
export const portalBuildPath = path.join(repoRoot, 'build', 'portal', 'index.js');
export const portalAssetsDir = path.join(repoRoot, 'public', 'build');
