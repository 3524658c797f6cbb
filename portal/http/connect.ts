// GET /connect/:provider and /connect/:provider/callback — OAuth connect flows for
// hubspot, salesforce and stripe. Only a signed-in owner or admin may start one; the
// workspace comes from their session, never from the query string, and only that admin,
// in that browser (a nonce cookie), can finish it, once.
import { Router, type Request, type Response } from 'express';
import { finishOAuthConnect, startOAuthConnect } from '../../core/sync/oauth-connect.ts';
import { sessionMember } from '../../core/auth/sessions.ts';
import { env } from '../../core/env.ts';
import { AppError, isAppError } from '../../core/errors.ts';
import { createSlackInstallGrant, slackOAuthConfigured } from '../../core/slack/install.ts';
import { log } from '../../core/log.ts';
import { connectNonceCookie, signedInMember } from '../session.server.ts';
import { simplePage } from './page.ts';

export const connectRouter: Router = Router();

function sessionContext() {
  const e = env();
  return { sessionSecret: e.SESSION_SECRET, secureCookies: e.APP_URL.startsWith('https://'), sessionMember };
}

/**
 * The signed-in owner or admin, or null once the refusal is sent: a signed-out visitor is
 * asked to sign in (401), a signed-in member is told they may not (403).
 */
async function adminOrRefuse(req: Request, res: Response, signInHint: string) {
  const member = await signedInMember(sessionContext(), req);
  if (member && (member.role === 'owner' || member.role === 'admin')) return member;
  if (member) res.status(403).type('html').send(simplePage('Not allowed', 'Only workspace owners and admins can connect providers or install Pivotal in Slack. Ask one of them to do it.'));
  else res.status(401).type('html').send(simplePage('Sign in first', signInHint));
  return null;
}

const statusFor = (err: unknown) => {
  if (!isAppError(err)) return 500;
  return ({ unauthorized: 401, forbidden: 403, not_found: 404, conflict: 409, config: 503 } as Record<string, number>)[err.code] ?? 400;
};

// Slack's install: a one-use link to the bot for this admin's workspace (core/slack/install.ts).
connectRouter.get('/connect/slack', async (req, res) => {
  try {
    const member = await adminOrRefuse(req, res, 'Only a workspace owner or admin can install Pivotal in Slack. Sign in with your one-time link, then try again.');
    if (!member) return;
    if (!slackOAuthConfigured()) throw new AppError('config', 'The Slack install is not configured on this Pivotal instance (set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET), or link a team with `pivotal slack link`');
    res.redirect(302, await createSlackInstallGrant(member));
  } catch (err) {
    if (!isAppError(err)) log.error({ err }, 'slack install start failed');
    res.status(statusFor(err)).type('html').send(simplePage('Cannot install Slack', isAppError(err) ? err.message : 'Something went wrong on our side. It has been logged.'));
  }
});

connectRouter.get('/connect/:provider', async (req, res, next) => {
  try {
    const member = await adminOrRefuse(req, res, 'Only a workspace owner or admin can connect a provider. Sign in with your one-time link, then try again.');
    if (!member) return;
    const { url, nonce } = await startOAuthConnect({
      workspaceId: member.workspaceId,
      email: member.email,
      provider: req.params.provider as never,
      role: req.query.role === 'billing_signal' ? 'billing_signal' : 'customer_source',
      mode: req.query.mode === 'test' ? 'test' : req.query.mode === 'live' ? 'live' : undefined,
    });
    res.setHeader('Set-Cookie', await connectNonceCookie(sessionContext()).serialize(nonce));
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
    const member = await adminOrRefuse(req, res, 'Finish connecting while signed in as the workspace owner or admin who started it: sign in, then start again from the portal.');
    if (!member) return;
    const cookie = connectNonceCookie(sessionContext());
    const browserNonce: unknown = await cookie.parse(req.headers.cookie ?? null);
    res.setHeader('Set-Cookie', await cookie.serialize('', { maxAge: 0 }));
    const result = await finishOAuthConnect({
      provider: req.params.provider, code: q('code'), state: q('state'), error: q('error'), errorDescription: q('error_description'),
      browserNonce: typeof browserNonce === 'string' ? browserNonce : undefined, member,
    });
    log.info({ provider: result.provider, connection: result.connectionId, reconnected: result.reconnected }, 'provider connected');
    res.redirect(302, `/?connected=${encodeURIComponent(result.provider)}&connection=${result.connectionId}`);
  } catch (err) {
    if (!isAppError(err)) log.error({ err }, 'connect callback failed');
    res.status(statusFor(err)).type('html').send(simplePage('Connection not completed', isAppError(err) ? err.message : 'Something went wrong on our side. It has been logged.'));
  }
});
