// The embedded database launcher: clear errors for a taken port and a missing Go
// toolchain, sharing of a running instance, and a clean stop.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canConnect, ensureFerretdbBinary, freePort, startLocalDatabase } from '../../core/db/ferretdb.ts';

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

  it('says clearly when Go is missing and the engine is not built yet', () => {
    expect(() => ensureFerretdbBinary(() => {}, { bin: path.join(tmp(), 'ferretdb'), goCommand: 'go-not-installed-here' })).toThrow(/Go toolchain not found: install Go 1.24 or newer/);
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
});
