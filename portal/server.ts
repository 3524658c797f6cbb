// The portal process: probes, provider webhooks and OAuth callbacks (express), then the
// Remix app for everything else. Remix routes reach core through the load context.
import http from 'node:http';
import fs from 'node:fs';
import express from 'express';
import { createRequestHandler } from '@remix-run/express';
import type { ServerBuild } from '@remix-run/node';
import { handleProbe } from '../core/http/probes.ts';
import { closeConnectionsWithUnreadBodies } from '../core/http/unread-body.ts';
import { portalAssetsDir, portalBuildPath, repoRoot } from '../core/paths.ts';
import path from 'node:path';
import { env } from '../core/env.ts';
import { AppError } from '../core/errors.ts';
import { portalRouters } from './http/index.ts';
import { portalContext } from './context.server.ts';
import { errorHandler, refuseCrossSiteWrites, securityHeaders } from './http/security.ts';

export interface PortalServer {
  url: string;
  server: http.Server;
  stop(): Promise<void>;
}

export async function startPortal(opts: { port: number; host?: string }): Promise<PortalServer> {
  if (!fs.existsSync(portalBuildPath)) throw new AppError('config', 'The portal is not built: run `npm run setup` (or `npm run build`) first');
  const build = (await import(portalBuildPath)) as ServerBuild;
  const app = express();
  const e = env();
  app.disable('x-powered-by');
  // X-Forwarded-* is believed only from the proxies the operator names.
  app.set('trust proxy', trustProxySetting(e.TRUST_PROXY));
  app.use(securityHeaders(e.APP_URL));
  app.use(async (req, res, next) => {
    try {
      if (!(await handleProbe(req, res, 'portal'))) next();
    } catch (e) {
      next(e);
    }
  });
  app.use(refuseCrossSiteWrites(e.APP_URL));
  for (const router of portalRouters) app.use(router);
  app.use('/build', express.static(portalAssetsDir, { immutable: true, maxAge: '1y' }));
  app.use(express.static(path.join(repoRoot, 'public'), { maxAge: '1h' }));
  app.get('/favicon.ico', (_req, res) => res.redirect(301, '/favicon.svg'));
  app.all('*', createRequestHandler({ build, mode: e.NODE_ENV === 'production' ? 'production' : 'development', getLoadContext: (_req, res) => ({ pivotal: portalContext(), cspNonce: res.locals.cspNonce as string }) }));
  // Errors never leak internals (or secrets) to the browser; a client's bad body stays a 4xx.
  app.use(errorHandler);

  const server = http.createServer(app);
  closeConnectionsWithUnreadBodies(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new AppError('config', `Port ${opts.port} is already in use: set PORT to a free port`) : e),
    );
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://localhost:${port}`,
    server,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function trustProxySetting(value: string | undefined): number | string | false {
  if (!value) return false;
  return /^\d+$/.test(value.trim()) ? Number(value) : value;
}
