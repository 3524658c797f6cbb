// The embedded local database: FerretDB v1 (MongoDB wire protocol, SQLite backend),
// built once from its Go module with the machine's Go toolchain into .cache/, then
// started on 127.0.0.1 with its data under .data/. Production sets MONGODB_URI instead.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cacheDir, dataDir as defaultDataDir } from '../paths.ts';
import { AppError } from '../errors.ts';

export const FERRETDB_VERSION = 'v1.24.2';
const MODULE = 'github.com/FerretDB/FerretDB';
export const ferretdbBinary = path.join(cacheDir, `ferretdb-${FERRETDB_VERSION}`, 'ferretdb');

type Say = (line: string) => void;

function goEnv(): NodeJS.ProcessEnv {
  // GOTOOLCHAIN=local: never try to download another Go; CGO off: FerretDB's SQLite is pure Go.
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
}

export function binaryIsCurrent(bin = ferretdbBinary): boolean {
  if (!fs.existsSync(bin)) return false;
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return out.status === 0 && out.stdout.includes(`version: ${FERRETDB_VERSION}`);
}

/**
 * Builds FerretDB unless a binary of the pinned version is already cached.
 * `go install …@version` cannot be used as is: the module zip ships no
 * build/version/version.txt and the binary panics at start without it, so the module
 * is downloaded through the proxy, copied, given that file, and built.
 */
export function ensureFerretdbBinary(say: Say = () => {}, opts: { bin?: string; goCommand?: string } = {}): string {
  const target = opts.bin ?? ferretdbBinary;
  const goCmd = opts.goCommand ?? 'go';
  if (binaryIsCurrent(target)) return target;
  const go = spawnSync(goCmd, ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new AppError('config', 'Go toolchain not found: install Go 1.24 or newer (the local database is built from source), or set MONGODB_URI to an existing MongoDB');
  }
  say(`Building FerretDB ${FERRETDB_VERSION} with ${go.stdout.trim()} (first run only, about a minute)…`);
  const dl = spawnSync(goCmd, ['mod', 'download', '-json', `${MODULE}@${FERRETDB_VERSION}`], { encoding: 'utf8', env: goEnv(), cwd: os.tmpdir() });
  if (dl.status !== 0) throw new AppError('unavailable', `Could not download ${MODULE}@${FERRETDB_VERSION}: ${(dl.stderr || dl.stdout).trim().split('\n').pop()}`);
  const moduleDir = (JSON.parse(dl.stdout) as { Dir?: string }).Dir;
  if (!moduleDir) throw new AppError('unavailable', 'go mod download did not report a module directory');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ferretdb-src-'));
  try {
    fs.cpSync(moduleDir, work, { recursive: true });
    spawnSync('chmod', ['-R', 'u+w', work]);
    fs.writeFileSync(path.join(work, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmpBin = `${target}.tmp-${process.pid}`;
    const build = spawnSync(goCmd, ['build', '-trimpath', '-o', tmpBin, './cmd/ferretdb'], { cwd: work, env: goEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (build.status !== 0) throw new AppError('unavailable', `FerretDB build failed: ${(build.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
    fs.renameSync(tmpBin, target);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (!binaryIsCurrent(target)) throw new AppError('unavailable', 'FerretDB was built but does not report the expected version');
  say(`FerretDB ${FERRETDB_VERSION} built into ${path.relative(process.cwd(), target)}`);
  return target;
}

export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningDatabase {
  uri: string;
  port: number;
  /** true when this process started the engine (and so must stop it) */
  owned: boolean;
  stop(): Promise<void>;
}

interface InstanceFile {
  pid: number;
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

export const localUri = (port: number, dbName = 'pivotal') => `mongodb://127.0.0.1:${port}/${dbName}`;

/**
 * Starts FerretDB on 127.0.0.1:port with data under dir, or shares the instance that
 * another process of this checkout (npm start, the CLI) already runs there. Resolves
 * once the engine accepts connections.
 */
export async function startLocalDatabase(opts: { port: number; dir?: string; dbName?: string; say?: Say; readyTimeoutMs?: number }): Promise<RunningDatabase> {
  const dir = opts.dir ?? path.join(defaultDataDir, 'ferretdb');
  const say = opts.say ?? (() => {});
  const instanceFile = path.join(dir, 'instance.json');
  fs.mkdirSync(dir, { recursive: true });

  const existing = readInstance(instanceFile);
  if (existing && existing.port === opts.port && pidAlive(existing.pid) && (await canConnect(opts.port))) {
    return { uri: localUri(opts.port, opts.dbName), port: opts.port, owned: false, stop: async () => {} };
  }
  if (await canConnect(opts.port)) {
    throw new AppError('config', `Port ${opts.port} is already taken by another program: set PIVOTAL_DB_PORT to a free port, or MONGODB_URI to use an existing MongoDB`);
  }

  const bin = ensureFerretdbBinary(say);
  const logPath = path.join(dir, 'ferretdb.log');
  const logFd = fs.openSync(logPath, 'a');
  const child: ChildProcess = spawn(
    bin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${opts.port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  fs.closeSync(logFd);
  let exited: number | null | undefined;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', (code) => { exited = code; resolve(); }));

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  while (!(await canConnect(opts.port))) {
    if (exited !== undefined) throw new AppError('unavailable', `FerretDB exited during start (code ${exited}); see ${logPath}: ${tail(logPath)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new AppError('unavailable', `FerretDB did not accept connections on 127.0.0.1:${opts.port} within ${(opts.readyTimeoutMs ?? 20_000) / 1000}s; see ${logPath}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const info: InstanceFile = { pid: child.pid!, port: opts.port, started_at: new Date().toISOString() };
  fs.writeFileSync(instanceFile, JSON.stringify(info));

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exitPromise;
        clearTimeout(killer);
      }
      if (readInstance(instanceFile)?.pid === info.pid) fs.rmSync(instanceFile, { force: true });
    })();
    return stopping;
  };
  return { uri: localUri(opts.port, opts.dbName), port: opts.port, owned: true, stop };
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
