// The Slack bot process: Bolt over HTTP on SLACK_PORT (/slack/events), or Socket Mode
// when SLACK_APP_TOKEN is set. Without Slack secrets it still serves /healthz and
// /readyz and says clearly that Slack is not configured, instead of crashing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { env } from '../core/env.ts';
import { log } from '../core/log.ts';
import { AppError } from '../core/errors.ts';
import { handleProbe } from '../core/http/probes.ts';
import { createBoltApp } from './bolt.ts';

export interface BotServer {
  url: string;
  configured: boolean;
  stop(): Promise<void>;
}

export async function startBot(opts: { port: number; host?: string }): Promise<BotServer> {
  const e = env();
  if (!e.SLACK_SIGNING_SECRET && !e.SLACK_APP_TOKEN) {
    log.warn('Slack not configured: set SLACK_SIGNING_SECRET with SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET/SLACK_STATE_SECRET (OAuth install); the bot only answers health probes until then');
    return startUnconfigured(opts);
  }
  const bolt = await createBoltApp();
  const bound = await bolt.start(opts.port, opts.host);
  return { url: `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : 'localhost'}:${bound ?? opts.port}`, configured: true, stop: bolt.stop };
}

async function startUnconfigured(opts: { port: number; host?: string }): Promise<BotServer> {
  const server = http.createServer(async (req, res) => {
    if (await handleProbe(req, res, 'bot')) return;
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: false, error: 'slack_not_configured', message: 'Slack is not configured on this Pivotal instance' }));
  });
  await listen(server, opts.port, opts.host);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    configured: false,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

export function listen(server: http.Server, port: number, host = '0.0.0.0'): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new AppError('config', `Port ${port} is already in use: set SLACK_PORT to a free port`) : e));
    server.listen(port, host, () => resolve());
  });
}
