// The embedded local database: SecantusDB's Rust server (MongoDB wire protocol, WiredTiger
// storage, a one-node replica set), built once per version from the Rust registry with the
// machine's cargo into a per-user cache, then started on 127.0.0.1 with its data under
// .data/. It is GPL-2.0 and runs as a separate process; nothing of it is bundled.
// Production sets MONGODB_URI instead.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dataDir as defaultDataDir } from '../paths.ts';
import { AppError } from '../errors.ts';
import { canConnect, freePort } from './ports.ts';

export const ENGINE_CRATE = 'secantus-mdb';
export const ENGINE_VERSION = '0.5.3-beta.196';
const ENGINE_BIN = 'secantusd-rs';

type Say = (line: string) => void;

/** Per-user build cache shared by every clone on this machine (CI's fresh clone included). */
export function engineCacheRoot(version = ENGINE_VERSION): string {
  const base = process.env.PIVOTAL_CACHE_DIR || process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, process.env.PIVOTAL_CACHE_DIR ? '' : 'pivotal', 'secantus', version);
}

export const engineBinary = path.join(engineCacheRoot(), 'bin', ENGINE_BIN);

export function binaryIsCurrent(bin = engineBinary): boolean {
  if (!fs.existsSync(bin)) return false;
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return out.status === 0;
}

/**
 * Builds the engine unless the pinned version is already in the cache. `--ignore-rust-version`:
 * the crate asks for a newer Rust than some machines have, and builds fine on them.
 * The build goes to a temporary root first so an interrupted build never looks finished.
 */
export function ensureEngineBinary(say: Say = () => {}, opts: { root?: string; cargoCommand?: string } = {}): string {
  const root = opts.root ?? engineCacheRoot();
  const target = path.join(root, 'bin', ENGINE_BIN);
  const cargo = opts.cargoCommand ?? 'cargo';
  if (binaryIsCurrent(target)) return target;
  const probe = spawnSync(cargo, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new AppError('config', 'cargo not found: install the Rust toolchain (and cmake and a C compiler) to build the local database, or set MONGODB_URI to an existing MongoDB');
  }
  say(`Building the local database (${ENGINE_CRATE} ${ENGINE_VERSION}) with ${probe.stdout.trim()} — first setup on this machine only, about 8–15 minutes…`);
  const tmpRoot = `${root}.building-${process.pid}`;
  fs.rmSync(tmpRoot, { recursive: true, force: true });
  const build = spawnSync(cargo, ['install', '--locked', '--ignore-rust-version', ENGINE_CRATE, '--version', ENGINE_VERSION, '--root', tmpRoot], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (build.status !== 0) {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
    const last = (build.stderr || build.stdout || String(build.error ?? '')).trim().split('\n').slice(-4).join(' | ');
    throw new AppError('unavailable', `Building ${ENGINE_CRATE} failed (it needs cmake and a C compiler): ${last}`);
  }
  fs.mkdirSync(path.dirname(root), { recursive: true });
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(tmpRoot, root);
  if (!binaryIsCurrent(target)) throw new AppError('unavailable', `${ENGINE_CRATE} was built but ${target} does not run`);
  say(`Local database built into ${target}`);
  return target;
}

export { canConnect, freePort };

export interface RunningDatabase {
  uri: string;
  port: number;
  /** true when this process started the engine (and so must stop it) */
  owned: boolean;
  stop(): Promise<void>;
}

/** Written next to the data: who runs the engine, so later processes share it or clean up after a crash. */
interface InstanceFile {
  pid: number;
  owner_pid: number;
  port: number;
  started_at: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const localUri = (port: number, dbName = 'pivotal') => `mongodb://127.0.0.1:${port}/${dbName}?directConnection=true`;

/**
 * Starts the engine on 127.0.0.1:port with data under dir, or shares the instance that
 * another live process of this checkout (npm start, the CLI) already runs there. An engine
 * whose owner died without stopping it (SIGKILL) is stopped and started afresh, so no
 * orphan outlives the next start. Resolves once the engine accepts connections.
 */
export async function startLocalDatabase(opts: { port: number; dir?: string; dbName?: string; say?: Say; readyTimeoutMs?: number }): Promise<RunningDatabase> {
  const dir = opts.dir ?? path.join(defaultDataDir, 'db');
  const instanceFile = path.join(dir, 'instance.json');
  fs.mkdirSync(dir, { recursive: true });

  const existing = readInstance(instanceFile);
  if (existing && pidAlive(existing.pid)) {
    if (existing.port === opts.port && pidAlive(existing.owner_pid) && (await canConnect(opts.port))) {
      return { uri: localUri(opts.port, opts.dbName), port: opts.port, owned: false, stop: async () => {} };
    }
    await stopOrphan(existing.pid);
  }
  if (await canConnect(opts.port)) {
    throw new AppError('config', `Port ${opts.port} is already taken by another program: set PIVOTAL_DB_PORT to a free port, or MONGODB_URI to use an existing MongoDB`);
  }
  return launch({ ...opts, dir, instanceFile, bin: ensureEngineBinary(opts.say) });
}

async function launch(opts: { port: number; dir: string; instanceFile: string; bin: string; dbName?: string; readyTimeoutMs?: number }): Promise<RunningDatabase> {
  const logPath = path.join(opts.dir, 'engine.log');
  const storage = path.join(opts.dir, 'data');
  fs.mkdirSync(storage, { recursive: true });
  const child: ChildProcess = spawn(
    opts.bin,
    // --sync-on-commit: an acknowledged write survives a SIGKILL of the engine (see README, engine notes).
    ['--host', '127.0.0.1', '--port', String(opts.port), '--storage-path', storage, '--cache-size', '256M', '--log-file-max', '16MB', '--log-level', 'WARNING', '--sync-on-commit'],
    { stdio: ['ignore', 'ignore', fs.openSync(logPath, 'a')] },
  );
  let exited: number | null | undefined;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', (code) => { exited = code; resolve(); }));
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(opts.port))) {
    if (exited !== undefined) throw new AppError('unavailable', `The local database exited during start (code ${exited}); see ${logPath}: ${tail(logPath)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new AppError('unavailable', `The local database did not accept connections on 127.0.0.1:${opts.port} within ${timeoutMs / 1000}s; see ${logPath}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const info: InstanceFile = { pid: child.pid!, owner_pid: process.pid, port: opts.port, started_at: new Date().toISOString() };
  fs.writeFileSync(opts.instanceFile, JSON.stringify(info));

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exitPromise;
        clearTimeout(killer);
      }
      if (readInstance(opts.instanceFile)?.pid === info.pid) fs.rmSync(opts.instanceFile, { force: true });
    })();
    return stopping;
  };
  return { uri: localUri(opts.port, opts.dbName), port: opts.port, owned: true, stop };
}

/** Stops an engine left running by a process that died without stopping it. */
async function stopOrphan(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 15_000;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function readInstance(file: string): InstanceFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as InstanceFile;
  } catch {
    return undefined;
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-2).join(' | ').slice(0, 400);
  } catch {
    return '';
  }
}
