// Builds the Bolt app: HTTP receiver (with probes as custom routes) or Socket Mode, the
// authorize function (team → installation in MongoDB, or the single-workspace token),
// and every listener via registerListeners().
import bolt from '@slack/bolt';
import type { Server } from 'node:http';
import { env } from '../core/env.ts';
import { log } from '../core/log.ts';
import { authorizeTeam } from '../core/slack/installations.ts';
import { databaseReady } from '../core/db/connection.ts';
import { registerListeners } from './listeners/index.ts';

const { App, ExpressReceiver, LogLevel } = bolt;

export async function createBoltApp(): Promise<{ start(port: number, host?: string): Promise<void>; stop(): Promise<void> }> {
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
  const app = new App({ receiver, authorize, clientOptions, logLevel: boltLogLevel });
  registerListeners(app);
  app.error(async (err) => {
    log.error({ err }, 'slack listener failed');
  });
  let server: Server | undefined;
  return {
    start: async (port: number, host?: string) => {
      server = (await receiver.start(host ? { port, host } : port)) as Server;
    },
    stop: async () => {
      server?.closeAllConnections();
      await receiver.stop();
    },
  };
}
