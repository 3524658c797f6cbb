// The bot under load in a process of its own (bench/slack.ts drives it), so latency and
// RSS are the bot's alone, not the fake Slack's or the load generator's.
import { performance } from 'node:perf_hooks';
import { Types } from 'mongoose';
import { connectMongoose } from '../core/db/connection.ts';
import { configureCustomerSearch, warmCustomerSearch } from '../core/customers/search-index.ts';
import { startBot } from '../bot/app.ts';

await connectMongoose(process.env.MONGODB_URI!);
// Production freshness (NODE_ENV=test would re-read before every search).
configureCustomerSearch('production');
const bot = await startBot({ port: 0, host: '127.0.0.1' });
const rssBefore = process.memoryUsage.rss();
const t0 = performance.now();
// Warm the index as a new instance does before taking traffic: one scan.
await warmCustomerSearch(new Types.ObjectId(process.env.BENCH_WORKSPACE!));
const warmMs = Math.round(performance.now() - t0);
process.stdout.write(`${JSON.stringify({ url: `${bot.url}/slack/events`, warmMs, rssBefore, rssWarm: process.memoryUsage.rss() })}\n`);
process.on('SIGTERM', () => {
  void bot.stop().finally(() => process.exit(0));
});
