// The embedded database launcher: clear errors for a taken port and a missing Rust
// toolchain, sharing of a running instance, a clean stop, and no orphan after a crash.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { canConnect, ensureEngineBinary, freePort, startLocalDatabase } from '../../core/db/local-database.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pivotal-launcher-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('local database launcher', () => {
  it('says clearly when the port is taken by another program', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startLocalDatabase({ port, dir: tmp() })).rejects.toThrow(`Port ${port} is already taken by another program: set PIVOTAL_DB_PORT`);
    } finally {
      blocker.close();
    }
  });

  it('says clearly when cargo is missing and the engine is not built yet', () => {
    expect(() => ensureEngineBinary(() => {}, { root: path.join(tmp(), 'engine'), cargoCommand: 'cargo-not-installed-here' })).toThrow(/cargo not found: install the Rust toolchain/);
  });

  it('shares a running instance with a second caller and stops only when the owner stops', async () => {
    const dir = tmp();
    const port = await freePort();
    const owner = await startLocalDatabase({ port, dir });
    const guest = await startLocalDatabase({ port, dir });
    expect(owner.owned).toBe(true);
    expect(guest.owned).toBe(false);
    await guest.stop();
    expect(await canConnect(port)).toBe(true);
    await owner.stop();
    expect(await canConnect(port)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'instance.json'))).toBe(false);
  });

  it('leaves no orphan engine behind a SIGKILLed owner: the next start replaces it', async () => {
    const dir = tmp();
    const port = await freePort();
    const script = `import { startLocalDatabase } from ${JSON.stringify(path.resolve('core/db/local-database.ts'))};
      await startLocalDatabase({ port: ${port}, dir: ${JSON.stringify(dir)} }); console.log('ready'); setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      owner.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
      owner.once('exit', (code) => reject(new Error(`owner exited ${code}`)));
    });
    const orphanPid = JSON.parse(fs.readFileSync(path.join(dir, 'instance.json'), 'utf8')).pid as number;
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));
    const next = await startLocalDatabase({ port, dir });
    try {
      expect(next.owned).toBe(true);
      expect(() => process.kill(orphanPid, 0)).toThrow();
    } finally {
      await next.stop();
    }
  });
});
