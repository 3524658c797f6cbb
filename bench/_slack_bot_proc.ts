// The bot under load in a process of its own (bench/slack.ts drives it), so latency and
// RSS are the bot's alone, not the fake Slack's or the load generator's. BENCH_PROFILE=1
// prints every database command slower than 50 ms to stderr.
import mongoose from 'mongoose';
import { connectMongoose } from '../core/db/connection.ts';
import { startBot } from '../bot/app.ts';
import { compose } from '../core/app/composition.ts';

compose();
await connectMongoose(process.env.MONGODB_URI!);
if (process.env.BENCH_PROFILE) {
  const client = mongoose.connection.getClient() as unknown as import('mongodb').MongoClient;
  const started = new Map<number, string>();
  client.on('commandStarted', (e) => started.set(e.requestId, JSON.stringify(e.command).slice(0, 300)));
  client.on('commandSucceeded', (e) => {
    const cmd = started.get(e.requestId);
    started.delete(e.requestId);
    if (e.duration > 50) process.stderr.write(`slow ${e.duration} ms ${cmd}\n`);
  });
}
const bot = await startBot({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: `${bot.url}/slack/events`, rssBefore: process.memoryUsage.rss() })}\n`);
process.on('SIGTERM', () => {
  void bot.stop().finally(() => process.exit(0));
});
