// GET /connect/:provider and /connect/:provider/callback — OAuth connect flows for
// hubspot, salesforce and stripe. Only a signed-in owner or admin may start one; the
// workspace comes from their session, never from the query string.
import { Router, type Request } from 'express';
import { finishOAuthConnect, startOAuthConnect } from '../../core/sync/oauth-connect.ts';
import { memberOf } from '../../core/auth/login.ts';
import { env } from '../../core/env.ts';
import { isAppError } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import { sessionStorage } from '../session.server.ts';
import { simplePage } from './page.ts';

export const connectRouter: Router = Router();

async function signedInAdmin(req: Request) {
  const e = env();
  const session = await sessionStorage(e.SESSION_SECRET, e.APP_URL.startsWith('https://')).getSession(req.headers.cookie);
  const workspaceId = session.get('workspaceId');
  const email = session.get('email');
  const member = workspaceId && email ? await memberOf(workspaceId, email) : null;
  return member && (member.role === 'owner' || member.role === 'admin') ? member : null;
}

const statusFor = (err: unknown) => {
  if (!isAppError(err)) return 500;
  return ({ unauthorized: 401, forbidden: 403, not_found: 404, conflict: 409, config: 503 } as Record<string, number>)[err.code] ?? 400;
};

connectRouter.get('/connect/:provider', async (req, res, next) => {
  try {
    const member = await signedInAdmin(req);
    if (!member) {
      res.status(401).type('html').send(simplePage('Sign in first', 'Only a workspace owner or admin can connect a provider. Sign in with your one-time link, then try again.'));
      return;
    }
    const url = startOAuthConnect({
      workspaceId: member.workspaceId,
      provider: req.params.provider as never,
      role: req.query.role === 'billing_signal' ? 'billing_signal' : 'customer_source',
      mode: req.query.mode === 'test' ? 'test' : req.query.mode === 'live' ? 'live' : undefined,
    });
    res.redirect(302, url);
  } catch (err) {
    // OAuth not configured: the portal's page (503) names the variables and offers the token form.
    if (isAppError(err) && err.code === 'config') return next();
    if (!isAppError(err)) log.error({ err }, 'connect start failed');
    res.status(statusFor(err)).type('html').send(simplePage('Cannot connect', isAppError(err) ? err.message : 'Something went wrong on our side. It has been logged.'));
  }
});

connectRouter.get('/connect/:provider/callback', async (req, res) => {
  const q = (k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string) : undefined);
  try {
    const result = await finishOAuthConnect({ provider: req.params.provider, code: q('code'), state: q('state'), error: q('error'), errorDescription: q('error_description') });
    log.info({ provider: result.provider, connection: result.connectionId, reconnected: result.reconnected }, 'provider connected');
    res.redirect(302, `/?connected=${encodeURIComponent(result.provider)}&connection=${result.connectionId}`);
  } catch (err) {
    if (!isAppError(err)) log.error({ err }, 'connect callback failed');
    res.status(statusFor(err)).type('html').send(simplePage('Connection not completed', isAppError(err) ? err.message : 'Something went wrong on our side. It has been logged.'));
  }
});
