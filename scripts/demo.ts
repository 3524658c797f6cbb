// `npm run demo`: Pivotal as `npm start` runs it, plus the local stand-ins of HubSpot, Stripe
// and Slack that the tests use (test/fakes/, started in this process), seeded with a demo
// book and already connected and synced. Its database lives in a throwaway directory on a
// free port, so a demo never touches the data of `npm start`. Ctrl-C stops everything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeHubspot } from '../test/fakes/hubspot.ts';
import { startFakeStripe } from '../test/fakes/stripe.ts';
import { signSlackRequest, slashCommandBody, startFakeSlack } from '../test/fakes/slack.ts';
import { freePort } from '../core/db/ports.ts';


/** A free port for the demo's database that is not one Pivotal itself is about to listen on. */
async function dbPort(): Promise<number> {
  const taken = new Set([process.env.PORT ?? '3000', process.env.SLACK_PORT ?? '3001']);
  for (;;) {
    const p = await freePort();
    if (!taken.has(String(p))) return p;
  }
}

const TEAM = { id: 'T0DEMO0001', name: 'Acme Demo' };
const CSM = { id: 'U0DEMOCSM1', name: 'casey', email: 'casey@pivotal-demo.test' };
const CHANNELS = [{ id: 'C0CSALERTS', name: 'cs-alerts' }, { id: 'C0ACMEACCT', name: 'acme-account' }];
const SIGNING_SECRET = 'demo-signing-secret-not-for-production';
const BOT_TOKEN = 'xoxb-demo-0001-pivotal';
const HUBSPOT_TOKEN = 'pat-demo-0001-pivotal';

const BOOK: { name: string; domain: string; tier: string; employees: number; mrr?: number; failing?: boolean }[] = [
  { name: 'Acme Corp', domain: 'acme.com', tier: 'Enterprise', employees: 1200, mrr: 480_000 },
  { name: 'Globex', domain: 'globex.com', tier: 'Growth', employees: 300, mrr: 140_000, failing: true },
  { name: 'Initech', domain: 'initech.io', tier: 'Growth', employees: 150, mrr: 90_000 },
  { name: 'Umbrella Health', domain: 'umbrella-health.com', tier: 'Enterprise', employees: 2200, mrr: 620_000 },
  { name: 'Stark Industries', domain: 'stark.industries', tier: 'Enterprise', employees: 5000, mrr: 950_000 },
  { name: 'Wayne Logistics', domain: 'waynelogistics.com', tier: 'Growth', employees: 420, mrr: 160_000 },
  { name: 'Hooli', domain: 'hooli.xyz', tier: 'Starter', employees: 60, mrr: 29_000 },
  { name: 'Pied Piper', domain: 'piedpiper.com', tier: 'Starter', employees: 18, mrr: 12_000 },
  { name: 'Soylent Foods', domain: 'soylent.food', tier: 'Growth', employees: 240 },
  { name: 'Vandelay Imports', domain: 'vandelay.com', tier: 'Starter', employees: 12 },
];

// The stand-ins first: Pivotal reads their URLs from the environment when it starts.
const hubspot = await startFakeHubspot({ searchRateLimitPerSec: 0 });
hubspot.addPrivateAppToken(HUBSPOT_TOKEN);
const stripe = await startFakeStripe();
const slack = await startFakeSlack();
slack.addTeam({ teamId: TEAM.id, botToken: BOT_TOKEN, name: TEAM.name, users: [{ id: CSM.id, name: CSM.name, email: CSM.email }], channels: CHANNELS.map((c) => ({ ...c, isMember: true })) });

Object.assign(process.env, {
  HUBSPOT_API_BASE_URL: hubspot.url,
  STRIPE_API_BASE_URL: stripe.url,
  SLACK_API_URL: slack.apiUrl,
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  PIVOTAL_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'pivotal-demo-')),
  PIVOTAL_DB_PORT: process.env.PIVOTAL_DB_PORT ?? String(await dbPort()),
  PIVOTAL_ADMIN_EMAIL: process.env.PIVOTAL_ADMIN_EMAIL ?? 'admin@pivotal-demo.test',
});
delete process.env.MONGODB_URI;

function seedSources() {
  const owner = hubspot.addOwner({ email: CSM.email, firstName: 'Casey', lastName: 'Lee' });
  const b = stripe.book();
  const product = b.insertProduct({ name: 'Pivotal Demo Plan' }).id as string;
  const prices = new Map<string, string>();
  for (const c of BOOK) {
    const company = hubspot.createCompany({ name: c.name, domain: c.domain, tier: c.tier, numberofemployees: c.employees, hubspot_owner_id: String(owner.id), industry: 'COMPUTER_SOFTWARE' });
    hubspot.createContact({ firstname: 'Jordan', lastname: c.name.split(' ')[0], email: `jordan@${c.domain}`, jobtitle: 'Head of Operations', associatedcompanyid: company.id });
    if (!c.mrr) continue;
    // One price per plan; the seat count makes each customer's MRR.
    let price = prices.get(c.tier);
    if (!price) prices.set(c.tier, (price = b.insertPrice({ product, unit_amount: 1000, currency: 'usd', lookup_key: c.tier.toLowerCase(), recurring: { interval: 'month', interval_count: 1 } }).id as string));
    const customer = b.insertCustomer({ email: `billing@${c.domain}`, name: c.name }).id as string;
    const sub = b.insertSubscription({ customer, items: [{ price, quantity: c.mrr / 1000 }] } as any);
    if (c.failing) b.insertInvoice({ customer, subscription: String(sub.id), status: 'open', amount_due: c.mrr, attempt_count: 1 });
  }
}

seedSources();
await import('./start.ts');

// Pivotal is up: connect the stand-ins to the first workspace and sync them.
const { Workspace } = await import('../core/models/workspace.ts');
const { connectSource } = await import('../core/sync/connections.ts');
const { runSync } = await import('../core/sync/engine.ts');
const { linkSlackTeam } = await import('../core/slack/link.ts');
const { setSlackPreview } = await import('../core/demo/slack-preview.ts');
const { upsertMember } = await import('../core/workspaces/workspaces.ts');
const { env } = await import('../core/env.ts');

const ws = await Workspace.findOne().sort({ createdAt: 1 });
if (!ws) throw new Error('demo: Pivotal did not create its first workspace');
await Workspace.updateOne({ _id: ws._id }, { $set: { name: 'Acme Demo', 'settings.plans': ['Starter', 'Growth', 'Enterprise'] } });
await upsertMember(ws._id, { email: CSM.email, role: 'member', name: 'Casey Lee' });
await Workspace.updateOne({ _id: ws._id, 'members.email': CSM.email }, { $set: { 'members.$.slack_user_id': CSM.id } });
const crm = await connectSource({ workspaceId: String(ws._id), provider: 'hubspot', role: 'customer_source', authType: 'token', credentials: { accessToken: HUBSPOT_TOKEN }, externalAccountId: String(hubspot.portalId) });
const billing = await connectSource({ workspaceId: String(ws._id), provider: 'stripe', role: 'billing_signal', authType: 'token', mode: 'test', credentials: { accessToken: stripe.secretKey }, settings: { mode: 'test' } });
await runSync({ connectionId: String(crm._id), kind: 'full', trigger: 'demo' });
await runSync({ connectionId: String(billing._id), kind: 'full', trigger: 'demo' });
await linkSlackTeam({ workspaceId: String(ws._id), teamId: TEAM.id, botToken: BOT_TOKEN, defaultChannelId: CHANNELS[0]!.id });

setSlackPreview({
  team: TEAM,
  async ask(text) {
    const responseUrl = slack.responseUrl({ teamId: TEAM.id, channelId: CHANNELS[0]!.id, userId: CSM.id });
    const body = slashCommandBody({ teamId: TEAM.id, userId: CSM.id, userName: CSM.name, channelId: CHANNELS[0]!.id, channelName: CHANNELS[0]!.name, text, responseUrl });
    const res = await fetch(`http://127.0.0.1:${env().SLACK_PORT}/slack/events`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...signSlackRequest(SIGNING_SECRET, body) }, body });
    const ack = await res.text();
    // The answer comes through the response_url once the lookup is done.
    for (let i = 0; i < 50 && slack.responses(responseUrl).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const replies = slack.responses(responseUrl).map((r) => r.body as { text?: string; blocks?: unknown[]; response_type?: string });
    return { ack, replies: replies.map((r) => ({ text: r.text ?? '', blocks: r.blocks ?? [], response_type: r.response_type ?? 'ephemeral' })) };
  },
  channels: () => CHANNELS.map((c) => ({ ...c, messages: slack.messages(c.id).map((m) => ({ text: m.text ?? '', blocks: m.blocks ?? [], ts: m.ts })) })),
});

console.log(`
Pivotal demo is ready: HubSpot (${BOOK.length} companies), Stripe in test mode and Slack are local stand-ins, already connected and synced.
  Sign in with the link printed above, then open:
  ${env().APP_URL}/demo/slack   the Slack preview: type /pivotal acme and see the bot's exact reply
  ${env().APP_URL}/connections/${String(crm._id)}   the HubSpot connection (sync screens, mapping, log)
Ctrl-C stops the demo (its data is thrown away).`);
