// The portal's HTTP hardening, in one place: security headers (helmet, with a per-request
// script nonce for Remix's inline scripts), the cross-site form check, and the error
// handler that keeps a client's bad request a 4xx and never leaks internals.
import crypto from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { log } from '../../core/log.ts';

/** Security headers; HSTS and upgrade-insecure-requests only when the portal is served over https. */
export function securityHeaders(appUrl: string): RequestHandler[] {
  const https = appUrl.startsWith('https://');
  const nonce: RequestHandler = (_req, res, next) => {
    res.locals.cspNonce = crypto.randomBytes(16).toString('base64');
    next();
  };
  return [
    nonce,
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          scriptSrc: ["'self'", (_req, res) => `'nonce-${(res as Response).locals.cspNonce as string}'`],
          // React renders style attributes; no script can run through a style.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          upgradeInsecureRequests: https ? [] : null,
        },
      },
      strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      referrerPolicy: { policy: 'same-origin' },
    }),
  ];
}

/**
 * State-changing requests to portal pages must come from the portal itself: the Origin
 * header (or, without it, the Referer) must be the portal's. A post that names no origin
 * at all cannot be told apart from a cross-site one, so it is refused too. Provider
 * webhooks are signed instead and are not browser requests.
 */
export function refuseCrossSiteWrites(appUrl: string): RequestHandler {
  const own = new URL(appUrl).origin;
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' || req.path.startsWith('/webhooks/')) return next();
    const claimed = req.get('origin') ?? originOf(req.get('referer'));
    const selfOrigin = `${req.protocol}://${req.get('host')}`;
    if (claimed && claimed !== 'null' && (claimed === own || claimed === selfOrigin)) return next();
    res.status(403).type('text/plain').send('This form was sent from another site (or without saying where from) and was ignored.');
  };
}

function originOf(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The last error handler: a client error raised by a body parser (413 too large, 415
 * unsupported encoding, 400 malformed or aborted) keeps its 4xx status; anything else is
 * ours, logged and answered 500 with no detail.
 */
export function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const status = Number((err as { status?: unknown; statusCode?: unknown })?.status ?? (err as { statusCode?: unknown })?.statusCode);
  if (status >= 400 && status < 500) {
    log.warn({ status, type: (err as { type?: unknown }).type }, 'portal request refused');
    if (res.headersSent) return;
    res.status(status).type('text/plain').send(clientErrorMessage(status));
    return;
  }
  log.error({ err }, 'portal request failed');
  if (res.headersSent) return;
  res.status(500).type('text/plain').send('Something went wrong on our side. It has been logged.');
}

function clientErrorMessage(status: number): string {
  if (status === 413) return 'The request body is too large.';
  if (status === 415) return 'The request body is in an encoding or type this route does not accept.';
  return 'The request could not be read.';
}
