// Slack bot under load: 100,000 customers in one workspace among 10 (× BENCH_SCALE), the
// real Bolt app on loopback, 50 signed `/pivotal` requests per second for 30 s (open loop:
// requests go out on schedule whether or not earlier ones finished). Reports p50/p99 to the
// ack (what Slack's 3-second limit is about; target p99 < 100 ms, zero errors), p50/p99 to
// the looked-up answer arriving at the response_url, and the process RSS before and after.
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noBilling } from '../core/billing/store.ts';
import mongoose, { Types } from 'mongoose';
import { withBenchDatabase } from './_db.ts';
import { startFakeSlack, slashCommandBody, signSlackRequest } from '../test/fakes/slack.ts';
import { resetEnvCache } from '../core/env.ts';
import { createWorkspace } from '../core/workspaces/workspaces.ts';
import { derivedSearchFields } from '../core/customers/customers.ts';
import { linkSlackTeam } from '../core/slack/link.ts';

/** RSS of another process (Linux /proc), in bytes. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const WORDS = ['acme', 'globex', 'initech', 'umbrella', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne', 'soylent', 'hooli', 'pied', 'piper', 'vandelay', 'massive', 'dynamic', 'north', 'south', 'blue', 'green'];
const SUFFIX = ['Labs', 'Inc', 'Systems', 'Health', 'Logistics', 'Foods', 'Analytics', 'Energy'];

function nameFor(i: number): string {
  const a = WORDS[i % WORDS.length]!;
  const b = WORDS[Math.floor(i / WORDS.length) % WORDS.length]!;
  return `${a[0]!.toUpperCase()}${a.slice(1)} ${b[0]!.toUpperCase()}${b.slice(1)} ${SUFFIX[i % SUFFIX.length]} ${i}`;
}

/** V8 flags of the bot role in production (README): without them V8 keeps garbage in a heap far larger than the bot's live set. */
const BOT_NODE_FLAGS = '--max-old-space-size=160 --max-semi-space-size=2';

const pct = (sorted: number[], p: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10 : NaN);
const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;

export async function runSlackBench(): Promise<{ name: string; rows: Record<string, number | string>[]; notes: string[] }> {
  const scale = Number(process.env.BENCH_SCALE ?? 1) || 1;
  const bigCount = Math.round(100_000 * scale);
  const smallCount = Math.round(2_000 * scale);
  const seconds = Math.max(5, Math.round(30 * Math.min(1, scale)));
  const rate = 50;
  const secret = 'bench-signing-secret';
  const team = 'T0BENCHTM1';
  const fake = await startFakeSlack({ responseUrlMaxUses: 5 });
  fake.addTeam({ teamId: team, botToken: 'xoxb-bench-token', users: [{ id: 'U0BENCH001', name: 'bench', email: 'bench@bench.example' }], channels: [{ id: 'C0BENCH001', name: 'general', isMember: true }] });
  const saved = { ...process.env };
  Object.assign(process.env, { SLACK_SIGNING_SECRET: secret, SLACK_API_URL: fake.apiUrl });
  delete process.env.SLACK_APP_TOKEN;
  delete process.env.SLACK_BOT_TOKEN;
  resetEnvCache();
  try {
    return await withBenchDatabase(async (uri) => {
      const coll = mongoose.connection.db!.collection('customers');
      let target: Types.ObjectId | undefined;
      for (let w = 0; w < 10; w++) {
        const ws = await createWorkspace({ name: `Bench slack ${w}` });
        if (w === 0) target = ws._id;
        const n = w === 0 ? bigCount : smallCount;
        // batches of 1,000 keep each insert short (README, engine notes: long inserts can stall there)
        for (let i = 0; i < n; i += 1_000) {
          const docs = [];
          for (let j = i; j < Math.min(n, i + 1_000); j++) {
            const name = nameFor(j);
            const domain = `c${j}.w${w}.example`;
            docs.push({
              _id: new Types.ObjectId(), workspace_id: ws._id, display_id: j + 1, name, domain, ...derivedSearchFields(name, domain),
              status: j % 17 === 0 ? 'at_risk' : 'active',
              health: { score: j % 100, bucket: j % 100 < 40 ? 'at_risk' : 'healthy', breakdown: [] }, sources: [], tags: [], custom_fields: {}, createdAt: new Date(), updatedAt: new Date(),
              billing: { ...noBilling(), plan: 'Growth', mrr: 10_000 + (j % 50) * 1000, payment_status: j % 23 === 0 ? 'failing' : 'paid' },
            });
          }
          await coll.insertMany(docs, { ordered: false });
        }
      }
      await linkSlackTeam({ workspaceId: String(target), teamId: team, botToken: 'xoxb-bench-token', defaultChannelId: 'C0BENCH001' });

      // The bot runs in its own process; this one seeds, plays Slack and generates load.
      // The heap caps the bot role is deployed with (README: "Running roles separately");
      // BENCH_BOT_NODE_FLAGS='' runs it uncapped.
      const botFlags = (process.env.BENCH_BOT_NODE_FLAGS ?? BOT_NODE_FLAGS).split(' ').filter(Boolean);
      const botProc = spawn(process.execPath, [...botFlags, ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_CPU_PROF] : []), path.join(path.dirname(fileURLToPath(import.meta.url)), '_slack_bot_proc.ts')], {
        env: { ...process.env, MONGODB_URI: uri, BENCH_WORKSPACE: String(target) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const ready = await new Promise<{ url: string; rssBefore: number }>((resolve, reject) => {
        let buf = '';
        botProc.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const line = buf.split('\n').find((l) => l.startsWith('{'));
          if (line) resolve(JSON.parse(line));
        });
        botProc.once('exit', (code) => reject(new Error(`bot process exited (${code})`)));
      });
      const url = ready.url;
      const rssBefore = ready.rssBefore;
      let peakBot = rssBefore;
      const botSampler = setInterval(() => {
        peakBot = Math.max(peakBot, rssOf(botProc.pid!));
      }, 100);
      // A realistic mix: exact names, domains, prefixes, typos, ids and sub-commands.
      const KINDS = ['exact name', 'domain', 'prefix', 'typo', '#id', 'list'] as const;
      const query = (k: number): string => {
        const i = (k * 7919) % bigCount;
        switch (k % 6) {
          case 0: return nameFor(i);
          case 1: return `c${i}.w0.example`;
          case 2: return nameFor(i).split(' ').slice(0, 2).join(' ');
          case 3: return nameFor(i).replace(/[aeiou]/, '');
          case 4: return `#${i + 1}`;
          default: return k % 12 === 5 ? 'at-risk' : 'failing';
        }
      };
      // One at a time first (each answer awaited before the next request): what each kind of
      // lookup costs with no queue in front of it, so the loaded figures can be read against it.
      const soloMs = new Map<string, number[]>();
      for (let k = 1_000_000; k < 1_000_000 + 60; k++) {
        const responseUrl = fake.responseUrl({ teamId: team, channelId: 'C0BENCH001', userId: 'U0BENCH001' });
        const body = slashCommandBody({ teamId: team, userId: 'U0BENCH001', channelId: 'C0BENCH001', text: query(k), responseUrl });
        const sent = Date.now();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...signSlackRequest(secret, body) }, body });
        await res.arrayBuffer();
        const rec = await fake.waitForResponse(responseUrl, 30_000);
        const kind = KINDS[k % 6]!;
        soloMs.set(kind, [...(soloMs.get(kind) ?? []), rec.at - sent]);
      }
      const solo = Object.fromEntries([...soloMs].map(([kind, ms]) => [`solo_${kind.replace(/[^a-z]+/g, '_')}_p50_ms`, pct(ms.sort((a, b) => a - b), 50)]));
      /** The customer an answer must name: the one looked up by name, domain, typo or id. */
      const expectedName = (k: number): string | null => ([0, 1, 3, 4].includes(k % 6) ? nameFor((k * 7919) % bigCount) : null);
      const ackMs: number[] = [];
      const answers: { sent: number; url: string; list: boolean; expect: string | null; kind: string; text: string }[] = [];
      let errors = 0;
      const inflight: Promise<void>[] = [];
      const total = rate * seconds;
      const t0 = performance.now();
      const wall0 = Date.now();
      for (let k = 0; k < total; k++) {
        const due = t0 + (k * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const responseUrl = fake.responseUrl({ teamId: team, channelId: 'C0BENCH001', userId: 'U0BENCH001' });
        const body = slashCommandBody({ teamId: team, userId: 'U0BENCH001', channelId: 'C0BENCH001', text: query(k), responseUrl });
        const sentAt = performance.now();
        const wallSent = Date.now();
        inflight.push(
          fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...signSlackRequest(secret, body) }, body })
            .then(async (res) => {
              await res.arrayBuffer();
              ackMs.push(performance.now() - sentAt);
              if (res.status !== 200) errors++;
              else answers.push({ sent: wallSent, url: responseUrl, list: k % 6 === 5, expect: expectedName(k), kind: KINDS[k % 6]!, text: query(k) });
            })
            .catch(() => {
              errors++;
            }),
        );
      }
      await Promise.all(inflight);
      const elapsed = (Date.now() - wall0) / 1000;
      // Wait (bounded overall) for the looked-up answers to land at their response_urls.
      const answerMs: number[] = [];
      const searchMs: number[] = [];
      const listMs: number[] = [];
      let unanswered = 0;
      const missed = new Map<string, number>();
      const answerDeadline = Date.now() + 20_000;
      for (const a of answers) {
        try {
          const rec = await fake.waitForResponse(a.url, Math.max(1, answerDeadline - Date.now()));
          if (rec.status !== 200 || rec.problems.length) errors++;
          if (a.expect && !JSON.stringify(rec.body).includes(a.expect)) {
            missed.set(a.kind, (missed.get(a.kind) ?? 0) + 1);
            if (process.env.BENCH_SHOW_MISSES) console.error(a.kind, JSON.stringify(a.text), JSON.stringify(rec.body).slice(0, 400));
          }
          answerMs.push(rec.at - a.sent);
          (a.list ? listMs : searchMs).push(rec.at - a.sent);
        } catch {
          unanswered++;
        }
      }
      clearInterval(botSampler);
      const rssAfter = rssOf(botProc.pid!);
      const peak = mb(Math.max(peakBot, rssAfter));
      botProc.kill('SIGTERM');
      await new Promise((r) => botProc.once('exit', r));
      ackMs.sort((a, b) => a - b);
      answerMs.sort((a, b) => a - b);
      searchMs.sort((a, b) => a - b);
      listMs.sort((a, b) => a - b);
      return {
        name: 'slack',
        rows: [
          {
            customers_target_ws: bigCount, workspaces: 10, requests: total, seconds: Math.round(elapsed * 10) / 10,
            ack_p50_ms: pct(ackMs, 50), ack_p99_ms: pct(ackMs, 99), answer_p50_ms: pct(answerMs, 50), answer_p99_ms: pct(answerMs, 99),
            search_answer_p50_ms: pct(searchMs, 50), search_answer_p99_ms: pct(searchMs, 99), list_answer_p50_ms: pct(listMs, 50), list_answer_p99_ms: pct(listMs, 99),
            errors, unanswered, lookups_missing_their_customer: [...missed].map(([kind, n]) => `${kind} ${n}`).join(', ') || 0, rss_before_mb: mb(rssBefore), rss_after_mb: mb(rssAfter), rss_peak_mb: peak, ...solo,
          },
        ],
        notes: [
          'ack = HTTP 200 from /slack/events (Bolt acks before the lookup); answer = the card or list arriving at the response_url.',
          `The bot runs in its own process (bench/_slack_bot_proc.ts, node ${BOT_NODE_FLAGS}, as the bot role is deployed); rss_* are that process. Fake Slack and the load generator run in the bench process, on loopback.`,
          'search = name/domain/prefix/typo/#id lookups; list = at-risk / failing; every one is a bounded MongoDB query on an index (no in-process index).',
          'solo_* = the answer time of each kind of lookup sent one at a time before the load (no queue in front of it).',
          'lookups_missing_their_customer = name, domain, typo and #id answers that do not name the customer looked up.',
          'unanswered = lookups whose answer had not arrived 20 s after the last request.',
        ],
      };
    });
  } finally {
    process.env = saved;
    resetEnvCache();
    await fake.close();
  }
}
