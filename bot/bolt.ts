// Builds the Bolt app: HTTP receiver (with probes as custom routes) or Socket Mode, the
// authorize function (team → installation in MongoDB, or the single-workspace token),
// and every listener via registerListeners().
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import type { Server } from 'node:http';
import { env } from '../core/env.ts';
import { log } from '../core/log.ts';
import { authorizeTeam } from '../core/slack/installations.ts';
import { databaseReady } from '../core/db/connection.ts';
import { registerListeners } from './listeners/index.ts';
import { createInstallProvider, installUrlOptions, slackOAuthConfigured, claimInstallToken } from '../core/slack/install.ts';
import { isAppError } from '../core/errors.ts';
import { closeConnectionsWithUnreadBodies } from '../core/http/unread-body.ts';

/**
 * /slack/install (a one-use link the portal gave a signed-in admin) redirects to Slack's
 * consent screen with the workspace in the OAuth state; /slack/oauth_redirect stores the installation.
 * Our own routes around @slack/oauth's InstallProvider, so authorize() stays one
 * function for OAuth, CLI-linked and single-token teams alike.
 */
function mountInstallRoutes(receiver: InstanceType<typeof ExpressReceiver>): void {
  const installer = createInstallProvider();
  const page = (title: string, body: string) =>
    `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font:16px system-ui;margin:3rem auto;max-width:36rem"><h1>${title}</h1><p>${body}</p></body>`;
  receiver.router.get('/slack/install', async (req, res) => {
    try {
      const workspaceId = await claimInstallToken(typeof req.query.token === 'string' ? req.query.token : undefined);
      await installer.handleInstallPath(req, res, {}, installUrlOptions(workspaceId));
    } catch (err) {
      res.status(isAppError(err) ? 400 : 500).type('html').send(page('Cannot start the Slack install', isAppError(err) ? err.message : 'Something went wrong; it has been logged.'));
      if (!isAppError(err)) log.error({ err }, 'slack install failed');
    }
  });
  receiver.router.get('/slack/oauth_redirect', (req, res) =>
    installer.handleCallback(req, res, {
      success: (installation, _options, _req, res2) => {
        res2.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res2.end(page('Pivotal is installed', `Pivotal is now in ${installation.team?.name ?? 'your Slack workspace'}. Try <code>/pivotal help</code> in any channel.`));
      },
      failure: (error, _options, _req, res2) => {
        log.warn({ err: error }, 'slack install callback failed');
        res2.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
        res2.end(page('Slack install failed', isAppError(error) ? error.message : 'Slack did not complete the install. Start again from the Pivotal portal.'));
      },
    }),
  );
}

export interface BoltHandle {
  /** starts listening; resolves with the bound port (HTTP mode) so port 0 works in tests */
  start(port: number, host?: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function createBoltApp(): Promise<BoltHandle> {
  const e = env();
  const clientOptions = { slackApiUrl: e.SLACK_API_URL };
  const boltLogLevel = e.LOG_LEVEL === 'debug' || e.LOG_LEVEL === 'trace' ? LogLevel.DEBUG : LogLevel.WARN;
  const authorize = async (source: { teamId?: string; enterpriseId?: string }) => authorizeTeam(source.teamId, source.enterpriseId);

  if (e.SLACK_APP_TOKEN) {
    const app = new App({ appToken: e.SLACK_APP_TOKEN, socketMode: true, authorize, clientOptions, logLevel: boltLogLevel });
    registerListeners(app);
    return {
      start: async () => {
        await app.start();
        log.info('Slack bot connected in Socket Mode');
        return undefined;
      },
      stop: async () => {
        await app.stop();
      },
    };
  }

  const receiver = new ExpressReceiver({
    signingSecret: e.SLACK_SIGNING_SECRET!,
    endpoints: '/slack/events',
    processBeforeResponse: false,
    logLevel: boltLogLevel,
  });
  receiver.router.get('/healthz', (_req, res) => {
    res.json({ ok: true, role: 'bot' });
  });
  receiver.router.get('/readyz', async (_req, res) => {
    const ready = await databaseReady();
    res.status(ready ? 200 : 503).json({ ok: ready, role: 'bot', database: ready ? 'ok' : 'unreachable' });
  });
  if (slackOAuthConfigured()) mountInstallRoutes(receiver);
  const app = new App({ receiver, authorize, clientOptions, logLevel: boltLogLevel });
  registerListeners(app);
  app.error(async (err) => {
    log.error({ err }, 'slack listener failed');
  });
  let server: Server | undefined;
  return {
    start: async (port: number, host?: string) => {
      server = (await receiver.start(host ? { port, host } : port)) as Server;
      closeConnectionsWithUnreadBodies(server);
      const address = server.address();
      return typeof address === 'object' && address ? address.port : port;
    },
    stop: async () => {
      server?.closeAllConnections();
      await receiver.stop();
    },
  };
}
