// `npm start`: runs the roles named by PIVOTAL_ROLES (portal, bot, worker; default all)
// against MONGODB_URI, or the embedded local database kept running alongside. Ctrl-C
// stops everything, the database included.
import { env, EnvError, productionSafetyProblems } from '../core/env.ts';
import { log } from '../core/log.ts';
import { connectDatabase, type DatabaseHandle } from '../core/db/connection.ts';
import { errorMessage } from '../core/errors.ts';
import { firstStartSignIn } from '../core/auth/first-start.ts';
import { compose } from '../core/app/composition.ts';

let e;
try {
  e = env();
} catch (err) {
  if (err instanceof EnvError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
const unsafe = productionSafetyProblems(e);
if (unsafe.length) {
  console.error(`Pivotal refuses to start:\n${unsafe.map((l) => `  ${l}`).join('\n')}`);
  process.exit(1);
}

compose();
const stops: (() => Promise<void>)[] = [];
let db: DatabaseHandle | undefined;
let shuttingDown = false;

async function shutdown(signal: string, code = 0): Promise<void> {
  if (shuttingDown) {
    console.error('Forced exit.');
    process.exit(1);
  }
  shuttingDown = true;
  log.info({ signal }, 'shutting down');
  for (const stop of stops.reverse()) await stop().catch((err) => log.error({ err }, 'stop failed'));
  await db?.close().catch((err) => log.error({ err }, 'database close failed'));
  process.exit(code);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  db = await connectDatabase({ say: (line) => console.log(line) });
  const roles = e.PIVOTAL_ROLES;
  if (roles.includes('worker')) {
    const { startJobProcessor } = await import('../core/jobs/agenda.ts');
    const { jobs, scheduleRecurringJobs } = await import('../core/app/composition.ts'); // composed above
    const worker = await startJobProcessor({ jobs, concurrency: e.WORKER_CONCURRENCY });
    await scheduleRecurringJobs();
    stops.push(() => worker.stop());
    log.info({ concurrency: e.WORKER_CONCURRENCY }, 'worker started');
  }
  if (roles.includes('bot')) {
    const { startBot } = await import('../bot/app.ts');
    const bot = await startBot({ port: e.SLACK_PORT });
    stops.push(() => bot.stop());
    console.log(`Pivotal Slack bot: ${bot.url}/slack/events${bot.configured ? '' : ' (Slack not configured)'}`);
  }
  if (roles.includes('portal')) {
    const { startPortal } = await import('../portal/server.ts');
    const portal = await startPortal({ port: e.PORT });
    stops.push(() => portal.stop());
    console.log(`Pivotal portal: ${e.APP_URL}`);
    const first = await firstStartSignIn();
    if (first) console.log(first);
  }
  log.info({ roles }, 'Pivotal is running');
} catch (err) {
  console.error(`Pivotal could not start: ${errorMessage(err)}`);
  await shutdown('startup-failure', 1);
}
