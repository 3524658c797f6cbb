// Liveness and readiness, shared by the portal and the bot: /healthz answers while the
// process runs; /readyz only when the database answers a ping.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { databaseReady } from '../db/connection.ts';

export async function handleProbe(req: IncomingMessage, res: ServerResponse, role: string): Promise<boolean> {
  const path = (req.url ?? '').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === '/healthz') {
    send(res, 200, { ok: true, role });
    return true;
  }
  if (path === '/readyz') {
    const ready = await databaseReady();
    send(res, ready ? 200 : 503, { ok: ready, role, database: ready ? 'ok' : 'unreachable' });
    return true;
  }
  return false;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
