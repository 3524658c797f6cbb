// The bot's /slack/events refuses an oversized body with 413 and leaves the connection
// usable: the next request on the same keep-alive agent is answered, not reset.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { resetEnvCache } from '../../core/env.ts';
import { startBot, type BotServer } from '../../bot/app.ts';

useTestDatabase('slack_body_limit');
const saved = { ...process.env };
let bot: BotServer;

beforeAll(async () => {
  Object.assign(process.env, { SLACK_SIGNING_SECRET: 'limit-signing-secret', SLACK_BOT_TOKEN: 'xoxb-limit' });
  delete process.env.SLACK_APP_TOKEN;
  resetEnvCache();
  bot = await startBot({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await bot?.stop();
  process.env = saved;
  resetEnvCache();
});

function request(agent: http.Agent, method: string, path: string, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${bot.url.replace('localhost', '127.0.0.1')}${path}`, { method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('oversized Slack requests', () => {
  it('answer 413 and the keep-alive connection serves the next request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 2; i++) {
        const big = await request(agent, 'POST', '/slack/events', Buffer.alloc(5 * 1024 * 1024, 'a'));
        expect(big.status).toBe(413);
        const next = await request(agent, 'GET', '/healthz');
        expect(next.status).toBe(200);
      }
    } finally {
      agent.destroy();
    }
  });
});
