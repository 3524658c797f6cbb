// The bot under load in a process of its own (bench/slack.ts drives it), so latency and
// RSS are the bot's alone, not the fake Slack's or the load generator's.
import { connectMongoose } from '../core/db/connection.ts';
import { startBot } from '../bot/app.ts';

await connectMongoose(process.env.MONGODB_URI!);
const bot = await startBot({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: `${bot.url}/slack/events`, rssBefore: process.memoryUsage.rss() })}\n`);
process.on('SIGTERM', () => {
  void bot.stop().finally(() => process.exit(0));
});
