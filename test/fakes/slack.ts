// Stateful fake of the Slack Web API (plus response_url sinks) for tests, and helpers that build
// and sign the requests Slack sends TO the app (slash commands, interactivity, Events API).
//
// The fake validates the way Slack does and answers with Slack's own `{ok:false, error}` shapes,
// so tests exercise the app's error handling instead of a server that agrees with everything.
// It is driven through the real @slack/web-api client: `new WebClient(token, { slackApiUrl: fake.apiUrl })`.
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Block Kit validation: a strict subset of Slack's published limits. Problems are reported the
// way Slack words them in `response_metadata.messages`: "<what> [json-pointer:/blocks/0/text/text]".
// ---------------------------------------------------------------------------------------------

export type Surface = 'message' | 'modal' | 'home';

interface Ctx {
  problems: string[];
  // action_id and block_id must be unique; the fake enforces action_id uniqueness across the whole
  // message/view (Slack only requires it per block) because Bolt routes on action_id alone.
  actionIds: Map<string, string>;
  blockIds: Map<string, string>;
}

const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };
const BLOCK_TYPES = new Set(['section', 'header', 'context', 'actions', 'divider', 'input', 'image']);
const SELECTS = ['static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select'];
const MULTI_SELECTS = SELECTS.map((s) => `multi_${s}`);
const ACTIONS_ELEMENTS = new Set([
  'button', 'checkboxes', 'datepicker', 'datetimepicker', 'overflow', 'radio_buttons', 'timepicker',
  'workflow_button', ...SELECTS, ...MULTI_SELECTS,
]);
const ACCESSORY_ELEMENTS = new Set([
  'button', 'checkboxes', 'datepicker', 'image', 'overflow', 'radio_buttons', 'timepicker', 'workflow_button',
  ...SELECTS, ...MULTI_SELECTS,
]);
const INPUT_ELEMENTS = new Set([
  'checkboxes', 'datepicker', 'datetimepicker', 'email_text_input', 'number_input', 'plain_text_input',
  'radio_buttons', 'timepicker', 'url_text_input', 'file_input', 'rich_text_input', ...SELECTS, ...MULTI_SELECTS,
]);
const TEXT_INPUTS = new Set(['plain_text_input', 'email_text_input', 'url_text_input', 'number_input']);

function add(ctx: Ctx, ptr: string, msg: string): void {
  ctx.problems.push(`${msg} [json-pointer:${ptr}]`);
}

function checkString(
  ctx: Ctx, v: unknown, ptr: string, max: number, opts: { required?: boolean; min?: number } = {},
): void {
  if (v === undefined) {
    if (opts.required) add(ctx, ptr, 'missing required field');
    return;
  }
  if (typeof v !== 'string') return add(ctx, ptr, 'must be a string');
  const min = opts.min ?? 0;
  if (v.length < min) add(ctx, ptr, `must be more than ${min - 1} characters`);
  // Slack phrases maxima as "must be less than N+1 characters".
  if (v.length > max) add(ctx, ptr, `must be less than ${max + 1} characters`);
}

function checkText(
  ctx: Ctx, v: unknown, ptr: string, max: number, opts: { plainOnly?: boolean; required?: boolean } = {},
): void {
  if (v === undefined) {
    if (opts.required ?? true) add(ctx, ptr, 'missing required field');
    return;
  }
  if (!isObj(v)) return add(ctx, ptr, 'must be a text object');
  if (v.type !== 'plain_text' && v.type !== 'mrkdwn') {
    return add(ctx, `${ptr}/type`, 'must be a valid enum value (plain_text or mrkdwn)');
  }
  if (opts.plainOnly && v.type !== 'plain_text') add(ctx, `${ptr}/type`, 'must be a valid enum value (plain_text)');
  if (v.type === 'mrkdwn' && v.emoji !== undefined) add(ctx, `${ptr}/emoji`, 'emoji is only allowed on plain_text');
  if (v.type === 'plain_text' && v.verbatim !== undefined) add(ctx, `${ptr}/verbatim`, 'verbatim is only allowed on mrkdwn');
  checkString(ctx, v.text, `${ptr}/text`, max, { required: true, min: 1 });
}

function checkConfirm(ctx: Ctx, v: unknown, ptr: string): void {
  if (v === undefined) return;
  if (!isObj(v)) return add(ctx, ptr, 'must be an object');
  checkText(ctx, v.title, `${ptr}/title`, 100, { plainOnly: true });
  checkText(ctx, v.text, `${ptr}/text`, 300);
  checkText(ctx, v.confirm, `${ptr}/confirm`, 30, { plainOnly: true });
  checkText(ctx, v.deny, `${ptr}/deny`, 30, { plainOnly: true });
  if (v.style !== undefined && v.style !== 'primary' && v.style !== 'danger') {
    add(ctx, `${ptr}/style`, 'must be a valid enum value (primary or danger)');
  }
}

function checkOptions(
  ctx: Ctx, v: unknown, ptr: string, maxItems: number, opts: { plainOnly: boolean; allowUrl?: boolean; minItems?: number },
): void {
  if (!Array.isArray(v)) return add(ctx, ptr, 'must be an array');
  if (v.length < (opts.minItems ?? 1)) add(ctx, ptr, `must provide at least ${opts.minItems ?? 1} items`);
  if (v.length > maxItems) add(ctx, ptr, `no more than ${maxItems} items allowed`);
  v.forEach((o, i) => {
    const p = `${ptr}/${i}`;
    if (!isObj(o)) return add(ctx, p, 'must be an object');
    checkText(ctx, o.text, `${p}/text`, 75, { plainOnly: opts.plainOnly });
    checkString(ctx, o.value, `${p}/value`, 150, { required: true, min: 1 });
    checkText(ctx, o.description, `${p}/description`, 75, { plainOnly: opts.plainOnly, required: false });
    if (o.url !== undefined) {
      if (opts.allowUrl) checkString(ctx, o.url, `${p}/url`, 3000);
      else add(ctx, `${p}/url`, 'url is only allowed in overflow menus');
    }
  });
}

function checkElement(ctx: Ctx, el: unknown, ptr: string, allowed: Set<string>, where: string): void {
  if (!isObj(el)) return add(ctx, ptr, 'must be an object');
  const type = el.type;
  if (typeof type !== 'string' || !allowed.has(type)) {
    return add(ctx, `${ptr}/type`, `element type ${JSON.stringify(type)} is not allowed in ${where}`);
  }
  if (type === 'image') {
    if (el.image_url === undefined && el.slack_file === undefined) add(ctx, `${ptr}/image_url`, 'missing required field');
    checkString(ctx, el.image_url, `${ptr}/image_url`, 3000, { min: 1 });
    checkString(ctx, el.alt_text, `${ptr}/alt_text`, 2000, { required: true, min: 1 });
    return;
  }
  if (el.action_id !== undefined) {
    checkString(ctx, el.action_id, `${ptr}/action_id`, 255, { min: 1 });
    if (typeof el.action_id === 'string') {
      const first = ctx.actionIds.get(el.action_id);
      if (first !== undefined) add(ctx, `${ptr}/action_id`, `duplicate action_id ${JSON.stringify(el.action_id)} (first used at ${first})`);
      else ctx.actionIds.set(el.action_id, ptr);
    }
  }
  checkConfirm(ctx, el.confirm, `${ptr}/confirm`);
  if (type === 'button') {
    checkText(ctx, el.text, `${ptr}/text`, 75, { plainOnly: true });
    checkString(ctx, el.value, `${ptr}/value`, 2000);
    checkString(ctx, el.url, `${ptr}/url`, 3000, { min: 1 });
    checkString(ctx, el.accessibility_label, `${ptr}/accessibility_label`, 75);
    if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') {
      add(ctx, `${ptr}/style`, 'must be a valid enum value (primary or danger)');
    }
    return;
  }
  if (el.placeholder !== undefined) checkText(ctx, el.placeholder, `${ptr}/placeholder`, 150, { plainOnly: true });
  if (type === 'static_select' || type === 'multi_static_select') {
    if (el.options === undefined && el.option_groups === undefined) add(ctx, `${ptr}/options`, 'must provide options or option_groups');
    if (el.options !== undefined) checkOptions(ctx, el.options, `${ptr}/options`, 100, { plainOnly: true });
    if (el.option_groups !== undefined) {
      if (!Array.isArray(el.option_groups)) add(ctx, `${ptr}/option_groups`, 'must be an array');
      else {
        if (el.option_groups.length > 100) add(ctx, `${ptr}/option_groups`, 'no more than 100 items allowed');
        el.option_groups.forEach((g, i) => {
          const p = `${ptr}/option_groups/${i}`;
          if (!isObj(g)) return add(ctx, p, 'must be an object');
          checkText(ctx, g.label, `${p}/label`, 75, { plainOnly: true });
          checkOptions(ctx, g.options, `${p}/options`, 100, { plainOnly: true });
        });
      }
    }
  } else if (type === 'overflow') {
    checkOptions(ctx, el.options, `${ptr}/options`, 5, { plainOnly: true, allowUrl: true });
  } else if (type === 'checkboxes' || type === 'radio_buttons') {
    checkOptions(ctx, el.options, `${ptr}/options`, 10, { plainOnly: false });
  } else if (TEXT_INPUTS.has(type)) {
    if (type === 'plain_text_input') {
      checkString(ctx, el.initial_value, `${ptr}/initial_value`, 3000);
      for (const k of ['min_length', 'max_length'] as const) {
        const n = el[k];
        if (n !== undefined && (typeof n !== 'number' || n < 0 || n > 3000)) add(ctx, `${ptr}/${k}`, 'must be a number between 0 and 3000');
      }
    }
  }
}

function checkBlock(ctx: Ctx, b: unknown, ptr: string): void {
  if (!isObj(b)) return add(ctx, ptr, 'must be an object');
  const type = b.type;
  if (typeof type !== 'string' || !BLOCK_TYPES.has(type)) {
    return add(ctx, `${ptr}/type`, `unsupported block type ${JSON.stringify(type)} (allowed: ${[...BLOCK_TYPES].join(', ')})`);
  }
  if (b.block_id !== undefined) {
    checkString(ctx, b.block_id, `${ptr}/block_id`, 255, { min: 1 });
    if (typeof b.block_id === 'string') {
      const first = ctx.blockIds.get(b.block_id);
      if (first !== undefined) add(ctx, `${ptr}/block_id`, `duplicate block_id ${JSON.stringify(b.block_id)} (first used at ${first})`);
      else ctx.blockIds.set(b.block_id, ptr);
    }
  }
  switch (type) {
    case 'section': {
      if (b.text === undefined && b.fields === undefined) add(ctx, ptr, 'must provide text or fields');
      if (b.text !== undefined) checkText(ctx, b.text, `${ptr}/text`, 3000);
      if (b.fields !== undefined) {
        if (!Array.isArray(b.fields)) add(ctx, `${ptr}/fields`, 'must be an array');
        else {
          if (b.fields.length === 0) add(ctx, `${ptr}/fields`, 'must provide at least 1 items');
          if (b.fields.length > 10) add(ctx, `${ptr}/fields`, 'no more than 10 items allowed');
          b.fields.forEach((f, i) => checkText(ctx, f, `${ptr}/fields/${i}`, 2000));
        }
      }
      if (b.accessory !== undefined) checkElement(ctx, b.accessory, `${ptr}/accessory`, ACCESSORY_ELEMENTS, 'section accessory');
      return;
    }
    case 'header':
      return checkText(ctx, b.text, `${ptr}/text`, 150, { plainOnly: true });
    case 'context':
    case 'actions': {
      const max = type === 'context' ? 10 : 25;
      if (!Array.isArray(b.elements)) return add(ctx, `${ptr}/elements`, 'must be an array');
      if (b.elements.length === 0) add(ctx, `${ptr}/elements`, 'must provide at least 1 items');
      if (b.elements.length > max) add(ctx, `${ptr}/elements`, `no more than ${max} items allowed`);
      b.elements.forEach((el, i) => {
        const p = `${ptr}/elements/${i}`;
        if (type === 'actions') return checkElement(ctx, el, p, ACTIONS_ELEMENTS, 'actions blocks');
        if (isObj(el) && el.type === 'image') return checkElement(ctx, el, p, new Set(['image']), 'context blocks');
        checkText(ctx, el, p, 3000);
      });
      return;
    }
    case 'divider':
      return;
    case 'input': {
      checkText(ctx, b.label, `${ptr}/label`, 2000, { plainOnly: true });
      if (b.hint !== undefined) checkText(ctx, b.hint, `${ptr}/hint`, 2000, { plainOnly: true });
      if (b.element === undefined) add(ctx, `${ptr}/element`, 'missing required field');
      else checkElement(ctx, b.element, `${ptr}/element`, INPUT_ELEMENTS, 'input blocks');
      for (const k of ['optional', 'dispatch_action'] as const) {
        if (b[k] !== undefined && typeof b[k] !== 'boolean') add(ctx, `${ptr}/${k}`, 'must be a boolean');
      }
      return;
    }
    case 'image': {
      if (b.image_url === undefined && b.slack_file === undefined) add(ctx, `${ptr}/image_url`, 'missing required field');
      checkString(ctx, b.image_url, `${ptr}/image_url`, 3000, { min: 1 });
      checkString(ctx, b.alt_text, `${ptr}/alt_text`, 2000, { required: true, min: 1 });
      if (b.title !== undefined) checkText(ctx, b.title, `${ptr}/title`, 2000, { plainOnly: true });
      return;
    }
  }
}

function newCtx(): Ctx {
  return { problems: [], actionIds: new Map(), blockIds: new Map() };
}

function checkBlocks(ctx: Ctx, blocks: unknown, surface: Surface, ptr: string): void {
  if (!Array.isArray(blocks)) return add(ctx, ptr, 'must be an array');
  const max = MAX_BLOCKS[surface];
  if (blocks.length > max) add(ctx, ptr, `no more than ${max} items allowed`);
  blocks.forEach((b, i) => checkBlock(ctx, b, `${ptr}/${i}`));
}

/** Validate a Block Kit `blocks` array for a surface; returns Slack-style problem strings ([] = valid). */
export function validateBlocks(blocks: unknown, surface: Surface, pointer = '/blocks'): string[] {
  const ctx = newCtx();
  checkBlocks(ctx, blocks, surface, pointer);
  return ctx.problems;
}

/** Validate a whole view payload (views.open/update/publish). Pointers are rooted at `/view`. */
export function validateView(view: unknown, kind: 'modal' | 'home'): string[] {
  const ctx = newCtx();
  const ptr = '/view';
  if (!isObj(view)) {
    add(ctx, ptr, 'must be an object');
    return ctx.problems;
  }
  if (view.type !== kind) add(ctx, `${ptr}/type`, `must be a valid enum value (${kind})`);
  if (kind === 'modal') {
    checkText(ctx, view.title, `${ptr}/title`, 24, { plainOnly: true });
    if (view.submit !== undefined) checkText(ctx, view.submit, `${ptr}/submit`, 24, { plainOnly: true });
    if (view.close !== undefined) checkText(ctx, view.close, `${ptr}/close`, 24, { plainOnly: true });
    // Slack refuses a modal with inputs but nothing to submit them with.
    if (view.submit === undefined && Array.isArray(view.blocks) && view.blocks.some((b) => isObj(b) && b.type === 'input')) {
      add(ctx, `${ptr}/submit`, 'must provide submit when blocks contain input blocks');
    }
  } else {
    for (const k of ['title', 'submit', 'close'] as const) {
      if (view[k] !== undefined) add(ctx, `${ptr}/${k}`, `${k} is not allowed on home views`);
    }
  }
  checkString(ctx, view.private_metadata, `${ptr}/private_metadata`, 3000);
  checkString(ctx, view.callback_id, `${ptr}/callback_id`, 255);
  checkString(ctx, view.external_id, `${ptr}/external_id`, 255);
  if (view.blocks === undefined) add(ctx, `${ptr}/blocks`, 'missing required field');
  else checkBlocks(ctx, view.blocks, kind, `${ptr}/blocks`);
  return ctx.problems;
}

// ---------------------------------------------------------------------------------------------
// Fake state
// ---------------------------------------------------------------------------------------------

export interface FakeUserInput {
  id: string;
  name: string;
  email: string;
  tz?: string;
  realName?: string;
  isBot?: boolean;
  deleted?: boolean;
}

export interface FakeChannelInput {
  id: string;
  name: string;
  isArchived?: boolean;
  /** Whether the bot user is already a member (default false). */
  isMember?: boolean;
  /** Private channel (default: true when the id starts with "G"). */
  isPrivate?: boolean;
  /** Human members; undefined means every team user is a member. */
  members?: string[];
}

export interface FakeTeamInput {
  teamId: string;
  /** Omit to model a workspace where the app is not installed yet (install via oauth.v2.access). */
  botToken?: string;
  botUserId?: string;
  botId?: string;
  name?: string;
  domain?: string;
  /** Bot scopes granted; defaults to DEFAULT_BOT_SCOPES. */
  scopes?: string[];
  users?: FakeUserInput[];
  channels?: FakeChannelInput[];
}

export const DEFAULT_BOT_SCOPES = [
  'commands', 'chat:write', 'im:write', 'users:read', 'users:read.email', 'team:read',
  'channels:read', 'channels:join', 'groups:read', 'app_mentions:read',
];

interface ChannelState {
  id: string;
  name: string;
  isPrivate: boolean;
  isIm: boolean;
  isArchived: boolean;
  botMember: boolean;
  members: Set<string> | null;
  imUser?: string;
  created: number;
}

interface TeamState {
  id: string;
  name: string;
  domain: string;
  botUserId: string;
  botId: string;
  scopes: string[];
  users: Map<string, FakeUserInput>;
  channels: Map<string, ChannelState>;
  joined: string[];
}

export interface RecordedCall {
  method: string;
  /** Token the request authenticated with (Authorization header, or form `token` field). */
  token: string | undefined;
  /** Decoded arguments: JSON-valued form fields (blocks, view, attachments…) are parsed. */
  args: Json;
  contentType: 'form' | 'json' | 'query' | 'other';
  status: number;
  response: Json;
  at: number;
}

export interface StoredMessage {
  channel: string;
  teamId: string;
  ts: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  threadTs: string | undefined;
  user: string;
  botId: string;
  edited?: { ts: string };
  /** How it got there: the Web API or a response_url POST. */
  via: 'api' | 'response_url';
}

export interface StoredEphemeral {
  channel: string;
  teamId: string;
  user: string;
  ts: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  threadTs: string | undefined;
  via: 'api' | 'response_url';
}

export interface StoredView {
  id: string;
  teamId: string;
  /** Who the modal was opened for / whose Home tab it is. */
  userId: string | undefined;
  type: 'modal' | 'home';
  hash: string;
  /** The view as last sent by the app (title, blocks, private_metadata, …). */
  view: Json;
  externalId: string | undefined;
  /** Every version sent, oldest first. */
  history: Json[];
}

export interface ResponseRecord {
  id: string;
  body: Json;
  status: number;
  error: string | undefined;
  problems: string[];
  at: number;
}

interface ResponseSink {
  id: string;
  teamId: string | undefined;
  channelId: string | undefined;
  userId: string | undefined;
  messageTs: string | undefined;
  createdAt: number;
  uses: number;
  records: ResponseRecord[];
  cursor: number;
  waiters: Array<() => void>;
}

interface Trigger {
  teamId: string | undefined;
  userId: string | undefined;
  expiresAt: number;
  used: boolean;
}

export interface FakeSlackOptions {
  clientId?: string;
  clientSecret?: string;
  appId?: string;
  teams?: FakeTeamInput[];
  /** Trigger ids expire 3 s after issue in Slack. */
  triggerTtlMs?: number;
  /** Accept trigger ids the fake did not mint (default false: `invalid_trigger_id`, as in Slack). */
  acceptUnknownTriggerIds?: boolean;
  /** Slack allows 5 POSTs per response_url within 30 minutes. */
  responseUrlMaxUses?: number;
  responseUrlTtlMs?: number;
}

const METHOD_SCOPES: Record<string, string | undefined> = {
  'chat.postMessage': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.update': 'chat:write',
  'conversations.join': 'channels:join',
  'users.info': 'users:read',
  'users.lookupByEmail': 'users:read.email',
  'team.info': 'team:read',
};

const rnd = (n: number): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
};

/** A trigger id in Slack's shape: `<digits>.<digits>.<32 hex>`. */
export function randomTriggerId(): string {
  const d = () => String(Math.floor(Math.random() * 1e12));
  return `${d()}.${d()}.${randomBytes(16).toString('hex')}`;
}

class ApiError {
  readonly body: Json;
  constructor(error: string, extra: Json = {}) {
    this.body = { ok: false, error, ...extra };
  }
}

const invalidArgs = (messages: string[]): ApiError =>
  new ApiError('invalid_arguments', { response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) } });

function str(args: Json, key: string): string | undefined {
  const v = args[key];
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Form bodies carry objects as JSON strings; JSON bodies carry them inline. Slack takes both. */
function jsonField(args: Json, key: string): { present: boolean; value?: unknown; invalid?: boolean } {
  const v = args[key];
  if (v === undefined || v === '') return { present: false };
  if (typeof v !== 'string') return { present: true, value: v };
  try {
    return { present: true, value: JSON.parse(v) };
  } catch {
    return { present: true, invalid: true };
  }
}

export class FakeSlack {
  readonly apiUrl: string;
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly appId: string;
  /** Every Web API request received, in order (including rejected and rate-limited ones). */
  readonly calls: RecordedCall[] = [];

  #server: ReturnType<typeof createServer>;
  #opts: FakeSlackOptions;
  #teams = new Map<string, TeamState>();
  #tokens = new Map<string, { teamId: string; revoked?: string }>();
  #messages = new Map<string, StoredMessage[]>();
  #ephemerals: StoredEphemeral[] = [];
  #views = new Map<string, StoredView>();
  #homeViews = new Map<string, string>();
  #triggers = new Map<string, Trigger>();
  #oauthCodes = new Map<string, { teamId: string; userId: string | undefined; redirectUri: string | undefined; expiresAt: number; used: boolean }>();
  #rateLimits = new Map<string, { times: number; retryAfterSec: number }>();
  #httpFailures = new Map<string, { times: number; status: number }>();
  #sinks = new Map<string, ResponseSink>();
  #callWaiters: Array<() => void> = [];
  #lastTsMicros = 0;

  constructor(server: ReturnType<typeof createServer>, port: number, opts: FakeSlackOptions) {
    this.#server = server;
    this.#opts = opts;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.baseUrl}/api/`;
    this.clientId = opts.clientId ?? '1111111111.2222222222';
    this.clientSecret = opts.clientSecret ?? 'fake-client-secret';
    this.appId = opts.appId ?? 'A0FAKEAPP01';
    for (const t of opts.teams ?? []) this.addTeam(t);
  }

  // ----- state setup ---------------------------------------------------------------------------

  addTeam(input: FakeTeamInput): this {
    const team: TeamState = {
      id: input.teamId,
      name: input.name ?? `Team ${input.teamId}`,
      domain: input.domain ?? input.teamId.toLowerCase(),
      botUserId: input.botUserId ?? `U${rnd(10)}`,
      botId: input.botId ?? `B${rnd(10)}`,
      scopes: input.scopes ?? [...DEFAULT_BOT_SCOPES],
      users: new Map(),
      channels: new Map(),
      joined: [],
    };
    this.#teams.set(team.id, team);
    for (const u of input.users ?? []) this.addUser(team.id, u);
    for (const c of input.channels ?? []) this.addChannel(team.id, c);
    if (input.botToken) this.#tokens.set(input.botToken, { teamId: team.id });
    return this;
  }

  addUser(teamId: string, user: FakeUserInput): this {
    this.#team(teamId).users.set(user.id, user);
    return this;
  }

  addChannel(teamId: string, c: FakeChannelInput): this {
    this.#team(teamId).channels.set(c.id, {
      id: c.id,
      name: c.name,
      isPrivate: c.isPrivate ?? c.id.startsWith('G'),
      isIm: false,
      isArchived: c.isArchived ?? false,
      botMember: c.isMember ?? false,
      members: c.members ? new Set(c.members) : null,
      created: Math.floor(Date.now() / 1000) - 86_400,
    });
    return this;
  }

  archiveChannel(teamId: string, channelId: string): this {
    const ch = this.#team(teamId).channels.get(channelId);
    if (!ch) throw new Error(`fake slack: no channel ${channelId} in ${teamId}`);
    ch.isArchived = true;
    return this;
  }

  /** Make a token stop working. Slack answers `token_revoked` for revoked tokens; pass
   * 'invalid_auth' or 'account_inactive' to model other uninstall states. */
  revokeToken(token: string, error: 'token_revoked' | 'invalid_auth' | 'account_inactive' = 'token_revoked'): this {
    const t = this.#tokens.get(token);
    if (t) t.revoked = error;
    else this.#tokens.set(token, { teamId: '', revoked: error });
    return this;
  }

  /** The next `times` calls to `method` get HTTP 429 + Retry-After and `{ok:false, error:'ratelimited'}`. */
  rateLimit(method: string, opts: { times?: number; retryAfterSec?: number } = {}): this {
    this.#rateLimits.set(method, { times: opts.times ?? 1, retryAfterSec: opts.retryAfterSec ?? 1 });
    return this;
  }

  /** The next `times` calls to `method` get a bare HTTP error (e.g. 503 from Slack's edge). */
  failHttp(method: string, opts: { times?: number; status?: number } = {}): this {
    this.#httpFailures.set(method, { times: opts.times ?? 1, status: opts.status ?? 503 });
    return this;
  }

  /** Mint a trigger id as Slack would put in a slash command / interaction payload. */
  triggerId(teamId?: string, userId?: string): string {
    const id = randomTriggerId();
    this.#triggers.set(id, { teamId, userId, expiresAt: Date.now() + (this.#opts.triggerTtlMs ?? 3000), used: false });
    return id;
  }

  /** Issue an OAuth code for the v2 install flow of `teamId` (valid 10 minutes, single use). */
  issueOAuthCode(teamId: string, opts: { userId?: string; redirectUri?: string } = {}): string {
    this.#team(teamId);
    const code = `${Math.floor(Math.random() * 1e12)}.${Math.floor(Math.random() * 1e12)}.${randomBytes(32).toString('hex')}`;
    this.#oauthCodes.set(code, {
      teamId, userId: opts.userId, redirectUri: opts.redirectUri, expiresAt: Date.now() + 600_000, used: false,
    });
    return code;
  }

  /** A fresh response_url. Link it to a channel/message so replace_original/delete_original/in_channel act on state. */
  responseUrl(opts: { teamId?: string; channelId?: string; userId?: string; messageTs?: string } = {}): string {
    const id = `${rnd(11)}/${Date.now()}/${randomBytes(12).toString('hex')}`.replaceAll('/', '-');
    this.#sinks.set(id, {
      id, teamId: opts.teamId, channelId: opts.channelId, userId: opts.userId, messageTs: opts.messageTs,
      createdAt: Date.now(), uses: 0, records: [], cursor: 0, waiters: [],
    });
    return `${this.baseUrl}/response/${id}`;
  }

  // ----- state accessors -----------------------------------------------------------------------

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Messages visible in a channel (a user id resolves to the bot's DM with that user). */
  messages(channel: string): StoredMessage[] {
    const id = channel.startsWith('U') || channel.startsWith('W') ? `D${channel.slice(1)}` : channel;
    return [...(this.#messages.get(id) ?? [])];
  }

  ephemerals(filter: { channel?: string; user?: string } = {}): StoredEphemeral[] {
    return this.#ephemerals.filter((e) => (!filter.channel || e.channel === filter.channel) && (!filter.user || e.user === filter.user));
  }

  /** Latest Home tab published for a user (optionally within one team). */
  homeView(userId: string, teamId?: string): StoredView | undefined {
    for (const [key, viewId] of [...this.#homeViews].reverse()) {
      const [t, u] = key.split(':');
      if (u === userId && (!teamId || t === teamId)) return this.#views.get(viewId);
    }
    return undefined;
  }

  /** Modals opened with views.open, oldest first (optionally for one user). */
  modals(userId?: string): StoredView[] {
    return [...this.#views.values()].filter((v) => v.type === 'modal' && (!userId || v.userId === userId));
  }

  view(viewId: string): StoredView | undefined {
    return this.#views.get(viewId);
  }

  /** Channels the bot joined through conversations.join. */
  joinedChannels(teamId?: string): string[] {
    if (teamId) return [...this.#team(teamId).joined];
    return [...this.#teams.values()].flatMap((t) => t.joined);
  }

  isBotMember(teamId: string, channelId: string): boolean {
    return this.#team(teamId).channels.get(channelId)?.botMember ?? false;
  }

  /** Bot tokens minted by oauth.v2.access or given to addTeam, per team. */
  tokensFor(teamId: string): string[] {
    return [...this.#tokens].filter(([, t]) => t.teamId === teamId && !t.revoked).map(([k]) => k);
  }

  responses(id: string): ResponseRecord[] {
    return [...(this.#sinks.get(this.#sinkId(id))?.records ?? [])];
  }

  allResponses(): ResponseRecord[] {
    return [...this.#sinks.values()].flatMap((s) => s.records).sort((a, b) => a.at - b.at);
  }

  /** Resolve with the next response_url POST not yet handed out by an earlier waitForResponse(id).
   * Accepts the full URL or its id. Rejected POSTs are returned too (see `status`/`error`). */
  async waitForResponse(idOrUrl: string, timeoutMs = 2000): Promise<ResponseRecord> {
    const sink = this.#sinks.get(this.#sinkId(idOrUrl));
    if (!sink) throw new Error(`fake slack: unknown response_url ${idOrUrl}`);
    const deadline = Date.now() + timeoutMs;
    while (sink.cursor >= sink.records.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake slack: no response_url POST to ${sink.id} within ${timeoutMs}ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        sink.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return sink.records[sink.cursor++]!;
  }

  /** Resolve with the first recorded call to `method` (past or future) that satisfies `where`. */
  async waitForCall(method: string, opts: { where?: (c: RecordedCall) => boolean; timeoutMs?: number } = {}): Promise<RecordedCall> {
    const timeoutMs = opts.timeoutMs ?? 2000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.calls.find((c) => c.method === method && (!opts.where || opts.where(c)));
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake slack: no ${method} call within ${timeoutMs}ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#callWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      // WebClient's fetch keeps connections alive; without this close() waits for them to idle out.
      this.#server.closeAllConnections();
    });
  }

  // ----- HTTP plumbing -------------------------------------------------------------------------

  #team(teamId: string): TeamState {
    const t = this.#teams.get(teamId);
    if (!t) throw new Error(`fake slack: unknown team ${teamId}; call addTeam first`);
    return t;
  }

  #sinkId(idOrUrl: string): string {
    const m = /\/response\/([^/?#]+)/.exec(idOrUrl);
    return m ? m[1]! : idOrUrl;
  }

  #nextTs(): string {
    const now = Date.now() * 1000;
    this.#lastTsMicros = Math.max(now, this.#lastTsMicros + 1);
    const s = Math.floor(this.#lastTsMicros / 1e6);
    return `${s}.${String(this.#lastTsMicros % 1e6).padStart(6, '0')}`;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const raw = await readBody(req);
    if (url.pathname.startsWith('/response/')) return this.#handleResponseUrl(url.pathname.slice('/response/'.length), raw, req, res);
    if (!url.pathname.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const method = url.pathname.slice('/api/'.length);
    const { args, token, contentType, warnings, parseError } = parseApiRequest(req, raw, url);
    const record = (status: number, response: Json): void => {
      this.calls.push({ method, token, args, contentType, status, response, at: Date.now() });
      for (const w of this.#callWaiters.splice(0)) w();
    };

    const failure = this.#httpFailures.get(method);
    if (failure && failure.times > 0) {
      failure.times--;
      record(failure.status, {});
      res.writeHead(failure.status, { 'content-type': 'text/html' }).end(`<html><body>${failure.status}</body></html>`);
      return;
    }
    const limit = this.#rateLimits.get(method);
    if (limit && limit.times > 0) {
      limit.times--;
      const body = { ok: false, error: 'ratelimited' };
      record(429, body);
      res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(limit.retryAfterSec) });
      res.end(JSON.stringify(body));
      return;
    }

    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    let body: Json;
    if (parseError) body = new ApiError(parseError).body;
    else {
      try {
        body = this.#dispatch(method, args, token, req, headers);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        body = e.body;
      }
    }
    if (warnings.length > 0) {
      body.warning = warnings.join(',');
      body.response_metadata = { ...(isObj(body.response_metadata) ? body.response_metadata : {}), warnings };
    }
    record(200, body);
    res.writeHead(200, headers).end(JSON.stringify(body));
  }

  #auth(token: string | undefined, method: string, headers: Record<string, string>): TeamState {
    if (!token) throw new ApiError('not_authed');
    const t = this.#tokens.get(token);
    if (!t) throw new ApiError('invalid_auth');
    if (t.revoked) throw new ApiError(t.revoked);
    const team = this.#team(t.teamId);
    headers['x-oauth-scopes'] = team.scopes.join(',');
    const needed = METHOD_SCOPES[method];
    if (needed) {
      headers['x-accepted-oauth-scopes'] = needed;
      if (!team.scopes.includes(needed)) throw new ApiError('missing_scope', { needed, provided: team.scopes.join(',') });
    }
    return team;
  }

  #dispatch(method: string, args: Json, token: string | undefined, req: IncomingMessage, headers: Record<string, string>): Json {
    if (method === 'oauth.v2.access') return this.#oauthAccess(args, req);
    const handlers: Record<string, ((team: TeamState, args: Json) => Json) | undefined> = {
      'auth.test': (team) => this.#authTest(team),
      'chat.postMessage': (team, a) => this.#postMessage(team, a),
      'chat.postEphemeral': (team, a) => this.#postEphemeral(team, a),
      'chat.update': (team, a) => this.#chatUpdate(team, a),
      'views.open': (team, a) => this.#viewsOpen(team, a),
      'views.update': (team, a) => this.#viewsUpdate(team, a),
      'views.publish': (team, a) => this.#viewsPublish(team, a),
      'conversations.join': (team, a) => this.#conversationsJoin(team, a),
      'conversations.info': (team, a) => this.#conversationsInfo(team, a),
      'conversations.list': (team, a) => this.#conversationsList(team, a),
      'users.info': (team, a) => this.#usersInfo(team, a),
      'users.lookupByEmail': (team, a) => this.#usersLookupByEmail(team, a),
      'team.info': (team) => ({ ok: true, team: this.#teamJson(team) }),
    };
    const handler = handlers[method];
    if (!handler) return { ok: false, error: 'unknown_method', req_method: method };
    return handler(this.#auth(token, method, headers), args);
  }

  // ----- Web API methods -----------------------------------------------------------------------

  #authTest(team: TeamState): Json {
    return {
      ok: true, url: `https://${team.domain}.slack.com/`, team: team.name, user: 'pivotal',
      team_id: team.id, user_id: team.botUserId, bot_id: team.botId, is_enterprise_install: false,
    };
  }

  #teamJson(team: TeamState): Json {
    return {
      id: team.id, name: team.name, url: `https://${team.domain}.slack.com/`, domain: team.domain,
      email_domain: '', icon: { image_default: true, image_34: 'https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-34.png' },
      avatar_base_url: 'https://ca.slack-edge.com/', is_verified: false,
    };
  }

  #userJson(team: TeamState, u: FakeUserInput): Json {
    const tz = u.tz ?? 'America/Los_Angeles';
    return {
      id: u.id, team_id: team.id, name: u.name, deleted: u.deleted ?? false, real_name: u.realName ?? u.name,
      tz, tz_label: tz, tz_offset: tzOffsetSeconds(tz), is_bot: u.isBot ?? false, is_admin: false, is_app_user: false,
      updated: Math.floor(Date.now() / 1000),
      profile: { email: u.email, real_name: u.realName ?? u.name, display_name: u.name, team: team.id },
    };
  }

  #channelJson(ch: ChannelState): Json {
    return {
      id: ch.id, name: ch.isIm ? undefined : ch.name, is_channel: !ch.isPrivate && !ch.isIm, is_group: ch.isPrivate,
      is_im: ch.isIm, is_private: ch.isPrivate || ch.isIm, is_archived: ch.isArchived, is_member: ch.botMember,
      is_general: ch.name === 'general', created: ch.created, name_normalized: ch.name, user: ch.imUser,
    };
  }

  /** Resolve a channel the way Slack does for a bot: private channels it is not in are invisible. */
  #visibleChannel(team: TeamState, id: string | undefined): ChannelState {
    if (!id) throw new ApiError('channel_not_found');
    const ch = team.channels.get(id);
    if (!ch || ((ch.isPrivate || ch.isIm) && !ch.botMember)) throw new ApiError('channel_not_found');
    return ch;
  }

  /** Where a bot can post: DMs open implicitly when `channel` is a user id (needs im:write). */
  #postableChannel(team: TeamState, id: string | undefined): ChannelState {
    if (id && (id.startsWith('U') || id.startsWith('W'))) {
      const user = team.users.get(id);
      if (!user || user.deleted) throw new ApiError('channel_not_found');
      if (!team.scopes.includes('im:write')) throw new ApiError('missing_scope', { needed: 'im:write', provided: team.scopes.join(',') });
      const dmId = `D${id.slice(1)}`;
      let dm = team.channels.get(dmId);
      if (!dm) {
        dm = { id: dmId, name: id, isPrivate: false, isIm: true, isArchived: false, botMember: true, members: new Set([id]), imUser: id, created: Math.floor(Date.now() / 1000) };
        team.channels.set(dmId, dm);
      }
      return dm;
    }
    const ch = this.#visibleChannel(team, id);
    if (ch.isArchived) throw new ApiError('is_archived');
    // chat:write.public lets a bot post to public channels it has not joined.
    if (!ch.botMember && !(team.scopes.includes('chat:write.public') && !ch.isPrivate)) throw new ApiError('not_in_channel');
    return ch;
  }

  /** Shared content checks of chat.postMessage/postEphemeral/update. */
  #messageContent(args: Json, requireContent: boolean): { text: string | undefined; blocks: unknown[] | undefined } {
    const text = typeof args.text === 'string' ? args.text : undefined;
    const b = jsonField(args, 'blocks');
    if (b.invalid || (b.present && !Array.isArray(b.value))) throw new ApiError('invalid_blocks_format');
    const blocks = b.present ? (b.value as unknown[]) : undefined;
    const hasAttachments = jsonField(args, 'attachments').present;
    if (requireContent && !text && (!blocks || blocks.length === 0) && !hasAttachments) throw new ApiError('no_text');
    if (text && text.length > 40_000) throw new ApiError('msg_too_long');
    if (blocks) {
      const problems = validateBlocks(blocks, 'message');
      if (problems.length > 0) {
        throw new ApiError('invalid_blocks', { errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
      }
    }
    return { text, blocks };
  }

  #messageJson(team: TeamState, m: StoredMessage): Json {
    return {
      type: 'message', text: m.text ?? '', user: m.user, bot_id: m.botId, app_id: this.appId, team: team.id, ts: m.ts,
      blocks: m.blocks, thread_ts: m.threadTs, edited: m.edited ? { user: m.user, ts: m.edited.ts } : undefined,
      bot_profile: { id: team.botId, app_id: this.appId, name: 'Pivotal', team_id: team.id, deleted: false },
    };
  }

  #postMessage(team: TeamState, args: Json): Json {
    const ch = this.#postableChannel(team, str(args, 'channel'));
    const { text, blocks } = this.#messageContent(args, true);
    const threadTs = str(args, 'thread_ts');
    const msg: StoredMessage = {
      channel: ch.id, teamId: team.id, ts: this.#nextTs(), text, blocks, threadTs, user: team.botUserId, botId: team.botId, via: 'api',
    };
    const list = this.#messages.get(ch.id) ?? [];
    list.push(msg);
    this.#messages.set(ch.id, list);
    return { ok: true, channel: ch.id, ts: msg.ts, message: this.#messageJson(team, msg) };
  }

  #postEphemeral(team: TeamState, args: Json): Json {
    const ch = this.#postableChannel(team, str(args, 'channel'));
    const userId = str(args, 'user');
    const user = userId ? team.users.get(userId) : undefined;
    if (!userId || !user) throw new ApiError('user_not_found');
    if (ch.members && !ch.members.has(userId)) throw new ApiError('user_not_in_channel');
    const { text, blocks } = this.#messageContent(args, true);
    const ts = this.#nextTs();
    this.#ephemerals.push({ channel: ch.id, teamId: team.id, user: userId, ts, text, blocks, threadTs: str(args, 'thread_ts'), via: 'api' });
    return { ok: true, message_ts: ts };
  }

  #chatUpdate(team: TeamState, args: Json): Json {
    const ch = this.#visibleChannel(team, str(args, 'channel'));
    if (ch.isArchived) throw new ApiError('is_archived');
    const ts = str(args, 'ts');
    const msg = (this.#messages.get(ch.id) ?? []).find((m) => m.ts === ts);
    if (!ts || !msg) throw new ApiError('message_not_found');
    if (msg.user !== team.botUserId) throw new ApiError('cant_update_message');
    const { text, blocks } = this.#messageContent(args, true);
    msg.text = text;
    if (blocks !== undefined) msg.blocks = blocks;
    msg.edited = { ts: this.#nextTs() };
    return { ok: true, channel: ch.id, ts: msg.ts, text: msg.text ?? '', message: this.#messageJson(team, msg) };
  }

  #parseView(args: Json, kind: 'modal' | 'home'): Json {
    const v = jsonField(args, 'view');
    if (!v.present) throw invalidArgs(['missing required field: view']);
    if (v.invalid || !isObj(v.value)) throw invalidArgs(['failed to parse view json [json-pointer:/view]']);
    // Slack rejects view problems with invalid_arguments (not invalid_blocks).
    const problems = validateView(v.value, kind);
    if (problems.length > 0) throw invalidArgs(problems);
    return v.value;
  }

  #viewJson(team: TeamState, sv: StoredView): Json {
    const v = sv.view;
    return {
      id: sv.id, team_id: team.id, type: sv.type, blocks: v.blocks, private_metadata: v.private_metadata ?? '',
      callback_id: v.callback_id ?? '', state: { values: {} }, hash: sv.hash, title: v.title, close: v.close ?? null,
      submit: v.submit ?? null, clear_on_close: v.clear_on_close ?? false, notify_on_close: v.notify_on_close ?? false,
      previous_view_id: null, root_view_id: sv.id, app_id: this.appId, external_id: sv.externalId ?? '',
      app_installed_team_id: team.id, bot_id: team.botId,
    };
  }

  #newHash(): string {
    return `${Math.floor(Date.now() / 1000)}.${randomBytes(6).toString('hex')}`;
  }

  #viewsOpen(team: TeamState, args: Json): Json {
    const triggerId = str(args, 'trigger_id') ?? str(args, 'interactivity_pointer');
    if (!triggerId) throw invalidArgs(['missing required field: trigger_id']);
    const trig = this.#triggers.get(triggerId);
    if (!trig) {
      if (!this.#opts.acceptUnknownTriggerIds) throw new ApiError('invalid_trigger_id');
    } else {
      if (trig.teamId && trig.teamId !== team.id) throw new ApiError('invalid_trigger_id');
      if (trig.used) throw new ApiError('exchanged_trigger_id');
      if (Date.now() > trig.expiresAt) throw new ApiError('expired_trigger_id');
    }
    const view = this.#parseView(args, 'modal');
    const externalId = typeof view.external_id === 'string' ? view.external_id : undefined;
    if (externalId && [...this.#views.values()].some((v) => v.teamId === team.id && v.externalId === externalId)) {
      throw new ApiError('duplicate_external_id');
    }
    if (trig) trig.used = true;
    const sv: StoredView = {
      id: `V${rnd(10)}`, teamId: team.id, userId: trig?.userId, type: 'modal', hash: this.#newHash(), view, externalId, history: [view],
    };
    this.#views.set(sv.id, sv);
    return { ok: true, view: this.#viewJson(team, sv) };
  }

  #viewsUpdate(team: TeamState, args: Json): Json {
    const viewId = str(args, 'view_id');
    const externalId = str(args, 'external_id');
    if (!viewId && !externalId) throw invalidArgs(['must provide view_id or external_id']);
    const sv = viewId
      ? this.#views.get(viewId)
      : [...this.#views.values()].find((v) => v.teamId === team.id && v.externalId === externalId);
    if (!sv || sv.teamId !== team.id) throw new ApiError('not_found');
    const hash = str(args, 'hash');
    if (hash && hash !== sv.hash) throw new ApiError('hash_conflict');
    const view = this.#parseView(args, sv.type);
    sv.view = view;
    sv.history.push(view);
    sv.hash = this.#newHash();
    if (typeof view.external_id === 'string') sv.externalId = view.external_id;
    return { ok: true, view: this.#viewJson(team, sv) };
  }

  #viewsPublish(team: TeamState, args: Json): Json {
    const userId = str(args, 'user_id');
    if (!userId) throw invalidArgs(['missing required field: user_id']);
    if (!team.users.has(userId)) throw invalidArgs([`invalid user_id: ${userId}`]);
    const view = this.#parseView(args, 'home');
    const key = `${team.id}:${userId}`;
    const existing = this.#views.get(this.#homeViews.get(key) ?? '');
    const hash = str(args, 'hash');
    if (hash && existing && hash !== existing.hash) throw new ApiError('hash_conflict');
    const sv: StoredView = existing ?? {
      id: `V${rnd(10)}`, teamId: team.id, userId, type: 'home', hash: '', view, externalId: undefined, history: [],
    };
    sv.view = view;
    sv.history.push(view);
    sv.hash = this.#newHash();
    this.#views.set(sv.id, sv);
    // Re-insert so homeView() finds the most recently published one first.
    this.#homeViews.delete(key);
    this.#homeViews.set(key, sv.id);
    return { ok: true, view: this.#viewJson(team, sv) };
  }

  #conversationsJoin(team: TeamState, args: Json): Json {
    const id = str(args, 'channel');
    const ch = id ? team.channels.get(id) : undefined;
    // A private channel the bot is not in is invisible to it; one it is in cannot be "joined".
    if (!ch || (ch.isPrivate && !ch.botMember)) throw new ApiError('channel_not_found');
    if (ch.isPrivate || ch.isIm) throw new ApiError('method_not_supported_for_channel_type');
    if (ch.isArchived) throw new ApiError('is_archived');
    if (ch.botMember) {
      return { ok: true, channel: this.#channelJson(ch), warning: 'already_in_channel', response_metadata: { warnings: ['already_in_channel'] } };
    }
    ch.botMember = true;
    team.joined.push(ch.id);
    return { ok: true, channel: this.#channelJson(ch) };
  }

  #conversationsInfo(team: TeamState, args: Json): Json {
    const ch = this.#visibleChannel(team, str(args, 'channel'));
    const needed = ch.isPrivate ? 'groups:read' : ch.isIm ? 'im:read' : 'channels:read';
    if (!team.scopes.includes(needed)) throw new ApiError('missing_scope', { needed, provided: team.scopes.join(',') });
    return { ok: true, channel: this.#channelJson(ch) };
  }

  /**
   * conversations.list as documented: `types` (default public_channel), `exclude_archived`,
   * cursor pagination (`limit` ≤ 1000, `response_metadata.next_cursor`); private channels
   * only where the bot is a member; each type needs its read scope.
   */
  #conversationsList(team: TeamState, args: Json): Json {
    const types = (str(args, 'types') ?? 'public_channel').split(',').map((t) => t.trim());
    const scopeOf: Record<string, string> = { public_channel: 'channels:read', private_channel: 'groups:read', im: 'im:read', mpim: 'mpim:read' };
    for (const t of types) {
      const needed = scopeOf[t];
      if (!needed) throw new ApiError('invalid_types');
      if (!team.scopes.includes(needed)) throw new ApiError('missing_scope', { needed, provided: team.scopes.join(',') });
    }
    const limit = Math.min(Math.max(Number(args.limit ?? 100) || 100, 1), 1000);
    const excludeArchived = args.exclude_archived === true || args.exclude_archived === 'true';
    const all = [...team.channels.values()]
      .filter((c) => !c.isIm && types.includes(c.isPrivate ? 'private_channel' : 'public_channel'))
      .filter((c) => !c.isPrivate || c.botMember)
      .filter((c) => !excludeArchived || !c.isArchived)
      .sort((a, b) => a.id.localeCompare(b.id));
    const cursor = str(args, 'cursor');
    let start = 0;
    if (cursor) {
      const decoded = Buffer.from(cursor, 'base64').toString('utf8');
      if (!decoded.startsWith('id:')) throw new ApiError('invalid_cursor');
      start = all.findIndex((c) => c.id > decoded.slice(3));
      if (start < 0) start = all.length;
    }
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    return { ok: true, channels: page.map((c) => this.#channelJson(c)), response_metadata: { next_cursor: more ? Buffer.from(`id:${page[page.length - 1]!.id}`).toString('base64') : '' } };
  }

  #usersInfo(team: TeamState, args: Json): Json {
    const id = str(args, 'user');
    const u = id ? team.users.get(id) : undefined;
    if (!u) throw new ApiError('user_not_found');
    return { ok: true, user: this.#userJson(team, u) };
  }

  #usersLookupByEmail(team: TeamState, args: Json): Json {
    const email = str(args, 'email')?.toLowerCase();
    if (!email) throw invalidArgs(['missing required field: email']);
    const u = [...team.users.values()].find((x) => x.email.toLowerCase() === email && !x.deleted);
    if (!u) throw new ApiError('users_not_found');
    return { ok: true, user: this.#userJson(team, u) };
  }

  #oauthAccess(args: Json, req: IncomingMessage): Json {
    // Client credentials arrive as form fields or HTTP Basic auth; Slack accepts either.
    let clientId = str(args, 'client_id');
    let clientSecret = str(args, 'client_secret');
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const [id, secret] = Buffer.from(basic[1]!, 'base64').toString().split(':');
      clientId ??= id;
      clientSecret ??= secret;
    }
    if (!clientId || clientId !== this.clientId) throw new ApiError('invalid_client_id');
    if (clientSecret !== this.clientSecret) throw new ApiError('bad_client_secret');
    const code = str(args, 'code');
    const issued = code ? this.#oauthCodes.get(code) : undefined;
    if (!issued || issued.used || Date.now() > issued.expiresAt) throw new ApiError('invalid_code');
    if (issued.redirectUri && str(args, 'redirect_uri') !== issued.redirectUri) throw new ApiError('bad_redirect_uri');
    issued.used = true;
    const team = this.#team(issued.teamId);
    const token = `xoxb-${Math.floor(Math.random() * 1e12)}-${Math.floor(Math.random() * 1e12)}-${randomBytes(12).toString('base64url')}`;
    this.#tokens.set(token, { teamId: team.id });
    const authedUser = issued.userId ?? [...team.users.keys()][0] ?? `U${rnd(10)}`;
    return {
      ok: true, app_id: this.appId, authed_user: { id: authedUser }, scope: team.scopes.join(','), token_type: 'bot',
      access_token: token, bot_user_id: team.botUserId, team: { id: team.id, name: team.name }, enterprise: null,
      is_enterprise_install: false,
    };
  }

  // ----- response_url --------------------------------------------------------------------------

  #handleResponseUrl(id: string, raw: string, req: IncomingMessage, res: ServerResponse): void {
    const sink = this.#sinks.get(id);
    const reply = (status: number, body: Json): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    };
    if (!sink) return reply(404, { ok: false, error: 'no_service' });
    const push = (status: number, body: Json, error?: string, problems: string[] = []): void => {
      sink.records.push({ id, body, status, error, problems, at: Date.now() });
      for (const w of sink.waiters.splice(0)) w();
      reply(status, error ? { ok: false, error, ...(problems.length ? { response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } } : {}) } : { ok: true });
    };
    if (req.method !== 'POST') return reply(405, { ok: false, error: 'invalid_method' });
    if (Date.now() - sink.createdAt > (this.#opts.responseUrlTtlMs ?? 30 * 60_000)) return push(404, {}, 'expired_url');
    if (sink.uses >= (this.#opts.responseUrlMaxUses ?? 5)) return push(404, {}, 'used_url');
    sink.uses++;
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return push(400, { raw }, 'invalid_payload');
    }
    if (!isObj(body)) return push(400, { raw }, 'invalid_payload');
    if (body.response_type !== undefined && body.response_type !== 'ephemeral' && body.response_type !== 'in_channel') {
      return push(400, body, 'invalid_payload', ['response_type must be ephemeral or in_channel']);
    }
    const teamId = sink.teamId;
    const team = teamId ? this.#teams.get(teamId) : undefined;
    if (body.delete_original === true || body.delete_original === 'true') {
      if (sink.channelId && sink.messageTs) {
        const list = this.#messages.get(sink.channelId) ?? [];
        this.#messages.set(sink.channelId, list.filter((m) => m.ts !== sink.messageTs));
      }
      return push(200, body);
    }
    const text = typeof body.text === 'string' ? body.text : undefined;
    const blocks = Array.isArray(body.blocks) ? body.blocks : undefined;
    if (body.blocks !== undefined && !blocks) return push(400, body, 'invalid_blocks_format');
    if (!text && (!blocks || blocks.length === 0)) return push(400, body, 'no_text');
    if (text && text.length > 40_000) return push(400, body, 'msg_too_long');
    const problems = blocks ? validateBlocks(blocks, 'message') : [];
    if (problems.length > 0) return push(400, body, 'invalid_blocks', problems);

    const replace = body.replace_original === true || body.replace_original === 'true';
    const original = sink.channelId && sink.messageTs ? (this.#messages.get(sink.channelId) ?? []).find((m) => m.ts === sink.messageTs) : undefined;
    if (replace && original) {
      original.text = text;
      original.blocks = blocks;
      original.edited = { ts: this.#nextTs() };
    } else if (body.response_type === 'in_channel' && sink.channelId) {
      const list = this.#messages.get(sink.channelId) ?? [];
      list.push({
        channel: sink.channelId, teamId: teamId ?? '', ts: this.#nextTs(), text, blocks, threadTs: undefined,
        user: team?.botUserId ?? '', botId: team?.botId ?? '', via: 'response_url',
      });
      this.#messages.set(sink.channelId, list);
    } else if (sink.channelId && sink.userId) {
      this.#ephemerals.push({
        channel: sink.channelId, teamId: teamId ?? '', user: sink.userId, ts: this.#nextTs(), text, blocks, threadTs: undefined, via: 'response_url',
      });
    }
    return push(200, body);
  }
}

function tzOffsetSeconds(tz: string): number {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' }).formatToParts(new Date());
    const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60) : 0;
  } catch {
    return 0;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const JSON_FIELDS = ['blocks', 'view', 'attachments', 'metadata'];

function parseApiRequest(req: IncomingMessage, raw: string, url: URL): {
  args: Json; token: string | undefined; contentType: RecordedCall['contentType']; warnings: string[]; parseError?: string;
} {
  const ct = (req.headers['content-type'] ?? '').toLowerCase();
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const warnings: string[] = [];
  if (ct.startsWith('application/json')) {
    // Slack ignores a token inside a JSON body: JSON callers must use the Authorization header.
    if (!ct.includes('charset')) warnings.push('missing_charset');
    try {
      const parsed: unknown = JSON.parse(raw || '{}');
      if (!isObj(parsed)) return { args: {}, token: bearer, contentType: 'json', warnings, parseError: 'invalid_json' };
      return { args: parsed, token: bearer, contentType: 'json', warnings };
    } catch {
      return { args: {}, token: bearer, contentType: 'json', warnings, parseError: 'invalid_json' };
    }
  }
  let params: URLSearchParams;
  let contentType: RecordedCall['contentType'];
  if (req.method === 'GET' || (!ct && raw === '')) {
    params = url.searchParams;
    contentType = 'query';
  } else if (ct.startsWith('application/x-www-form-urlencoded')) {
    if (ct.includes('charset')) warnings.push('superfluous_charset');
    params = new URLSearchParams(raw);
    contentType = 'form';
  } else {
    return { args: {}, token: bearer, contentType: 'other', warnings, parseError: ct ? 'invalid_post_type' : 'missing_post_type' };
  }
  const args: Json = {};
  for (const [k, v] of params) args[k] = v;
  // Keep the raw JSON strings where they are invalid so handlers can answer *_format errors.
  for (const k of JSON_FIELDS) {
    const v = args[k];
    if (typeof v === 'string') {
      try {
        args[k] = JSON.parse(v);
      } catch {
        /* left as the string */
      }
    }
  }
  const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
  return { args, token, contentType, warnings };
}

/** Start a fake Slack on 127.0.0.1 with a random port. Remember `await fake.close()`. */
export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  // The handler needs the FakeSlack, which needs the bound port: break the cycle with a holder.
  const holder: { fake?: FakeSlack } = {};
  const server = createServer((req, res) => {
    holder.fake!.handle(req, res).catch((e: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e instanceof Error ? e.stack : e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  holder.fake = new FakeSlack(server, (server.address() as AddressInfo).port, opts);
  return holder.fake;
}

// ---------------------------------------------------------------------------------------------
// Inbound: what Slack sends TO the app
// ---------------------------------------------------------------------------------------------

export interface SlackSignatureHeaders {
  'X-Slack-Signature': string;
  'X-Slack-Request-Timestamp': string;
}

/** Sign a raw body as Slack does: `v0=` + hex HMAC-SHA256(secret, `v0:${ts}:${body}`). */
export function signSlackRequest(signingSecret: string, body: string, timestampSec = Math.floor(Date.now() / 1000)): SlackSignatureHeaders {
  const ts = String(timestampSec);
  const sig = createHmac('sha256', signingSecret).update(`v0:${ts}:${body}`).digest('hex');
  return { 'X-Slack-Signature': `v0=${sig}`, 'X-Slack-Request-Timestamp': ts };
}

const VERIFICATION_TOKEN = 'fakeVerificationToken0001';

interface WhoOpts {
  teamId: string;
  teamDomain?: string;
  userId: string;
  userName?: string;
  apiAppId?: string;
  /** Deprecated verification token Slack still sends. */
  token?: string;
}

export interface SlashCommandOpts extends WhoOpts {
  channelId: string;
  channelName?: string;
  command?: string;
  text?: string;
  responseUrl: string;
  triggerId?: string;
}

/** Form-encoded slash command body with every field Slack sends, in Slack's order. */
export function slashCommandBody(o: SlashCommandOpts): string {
  return new URLSearchParams({
    token: o.token ?? VERIFICATION_TOKEN,
    team_id: o.teamId,
    team_domain: o.teamDomain ?? o.teamId.toLowerCase(),
    channel_id: o.channelId,
    channel_name: o.channelName ?? 'general',
    user_id: o.userId,
    user_name: o.userName ?? o.userId.toLowerCase(),
    command: o.command ?? '/pivotal',
    text: o.text ?? '',
    api_app_id: o.apiAppId ?? 'A0FAKEAPP01',
    is_enterprise_install: 'false',
    response_url: o.responseUrl,
    trigger_id: o.triggerId ?? randomTriggerId(),
  }).toString();
}

export interface BlockActionInput {
  action_id: string;
  block_id?: string;
  value?: string;
  type?: string;
  text?: string;
  selected_option?: Json;
}

export interface BlockActionsOpts extends WhoOpts {
  channelId?: string;
  channelName?: string;
  actions: BlockActionInput[];
  responseUrl?: string;
  triggerId?: string;
  /** Defaults to a message container in `channelId`; pass `{type:'view', view_id}` for modal/home actions. */
  container?: Json;
  /** The message the buttons were on (Slack includes it for message containers). */
  message?: Json;
  /** The view the action happened in (for view containers). */
  view?: Json;
  stateValues?: Json;
}

function userJson(o: WhoOpts): Json {
  return { id: o.userId, username: o.userName ?? o.userId.toLowerCase(), name: o.userName ?? o.userId.toLowerCase(), team_id: o.teamId };
}

/** Form-encoded `payload=` body of a block_actions interaction. */
export function blockActionsBody(o: BlockActionsOpts): string {
  const actionTs = (Date.now() / 1000).toFixed(6);
  const container = o.container ?? {
    type: 'message', message_ts: (o.message?.ts as string | undefined) ?? actionTs, channel_id: o.channelId, is_ephemeral: false,
  };
  const inView = container.type === 'view';
  const payload: Json = {
    type: 'block_actions',
    user: userJson(o),
    api_app_id: o.apiAppId ?? 'A0FAKEAPP01',
    token: o.token ?? VERIFICATION_TOKEN,
    container,
    trigger_id: o.triggerId ?? randomTriggerId(),
    team: { id: o.teamId, domain: o.teamDomain ?? o.teamId.toLowerCase() },
    enterprise: null,
    is_enterprise_install: false,
    ...(o.channelId ? { channel: { id: o.channelId, name: o.channelName ?? 'general' } } : {}),
    ...(inView ? { view: o.view ?? { id: container.view_id } } : { message: o.message, response_url: o.responseUrl }),
    state: { values: o.stateValues ?? {} },
    actions: o.actions.map((a) => ({
      action_id: a.action_id,
      block_id: a.block_id ?? rnd(5),
      type: a.type ?? 'button',
      ...(a.type === undefined || a.type === 'button' ? { text: { type: 'plain_text', text: a.text ?? a.action_id, emoji: true } } : {}),
      ...(a.value !== undefined ? { value: a.value } : {}),
      ...(a.selected_option ? { selected_option: a.selected_option } : {}),
      action_ts: actionTs,
    })),
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface ViewSubmissionOpts extends WhoOpts {
  /** Slack-shaped view, e.g. `fake.view(id)?.view` or a views.open response's `view`. */
  view?: Json;
  viewId?: string;
  callbackId?: string;
  privateMetadata?: string;
  /** state.values: `{ [block_id]: { [action_id]: { type, value | selected_option … } } }` */
  values?: Json;
  triggerId?: string;
  responseUrls?: Json[];
}

/** Form-encoded `payload=` body of a view_submission. */
export function viewSubmissionBody(o: ViewSubmissionOpts): string {
  const base = o.view ?? {};
  const id = o.viewId ?? (base.id as string | undefined) ?? `V${rnd(10)}`;
  const payload: Json = {
    type: 'view_submission',
    team: { id: o.teamId, domain: o.teamDomain ?? o.teamId.toLowerCase() },
    user: userJson(o),
    api_app_id: o.apiAppId ?? 'A0FAKEAPP01',
    token: o.token ?? VERIFICATION_TOKEN,
    trigger_id: o.triggerId ?? randomTriggerId(),
    view: {
      type: 'modal', blocks: [], title: { type: 'plain_text', text: 'Pivotal' }, close: null, submit: null,
      clear_on_close: false, notify_on_close: false, previous_view_id: null, external_id: '', app_installed_team_id: o.teamId,
      ...base,
      id,
      team_id: o.teamId,
      root_view_id: id,
      app_id: o.apiAppId ?? 'A0FAKEAPP01',
      hash: (base.hash as string | undefined) ?? `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      callback_id: o.callbackId ?? (base.callback_id as string | undefined) ?? '',
      private_metadata: o.privateMetadata ?? (base.private_metadata as string | undefined) ?? '',
      state: { values: o.values ?? {} },
    },
    response_urls: o.responseUrls ?? [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** JSON Events API envelope (`event_callback`) around any event. */
export function eventCallbackBody(o: { teamId: string; botUserId?: string; apiAppId?: string; token?: string; event: Json; eventId?: string; eventTime?: number }): string {
  const eventTime = o.eventTime ?? Math.floor(Date.now() / 1000);
  return JSON.stringify({
    token: o.token ?? VERIFICATION_TOKEN,
    team_id: o.teamId,
    api_app_id: o.apiAppId ?? 'A0FAKEAPP01',
    event: o.event,
    type: 'event_callback',
    event_id: o.eventId ?? `Ev${rnd(10)}`,
    event_time: eventTime,
    authorizations: [{ enterprise_id: null, team_id: o.teamId, user_id: o.botUserId ?? 'UFAKEBOT01', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(24).toString('base64url')}`,
  });
}

/** app_home_opened event wrapped in the Events API envelope. */
export function appHomeOpenedEvent(o: {
  teamId: string; userId: string; botUserId?: string; channelId?: string; tab?: 'home' | 'messages'; view?: Json;
  apiAppId?: string; eventId?: string; eventTime?: number;
}): string {
  const eventTs = (Date.now() / 1000).toFixed(6);
  return eventCallbackBody({
    ...o,
    event: {
      type: 'app_home_opened', user: o.userId, channel: o.channelId ?? `D${o.userId.slice(1)}`, tab: o.tab ?? 'home',
      event_ts: eventTs, ...(o.view ? { view: o.view } : {}),
    },
  });
}

/** POST a signed body to the app like Slack does. Content type defaults to JSON for `{…}` bodies, else form. */
export async function postToApp(
  url: string, signingSecret: string, body: string, contentType?: string, opts: { timestampSec?: number; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; json?: unknown; headers: Headers }> {
  const ct = contentType ?? (body.trimStart().startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded');
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': ct, 'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)', ...signSlackRequest(signingSecret, body, opts.timestampSec), ...opts.headers },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** Fresh random id helper for tests that need Slack-shaped ids. */
export function slackId(prefix: 'U' | 'C' | 'G' | 'T' | 'B' | 'V' | 'D'): string {
  return `${prefix}${rnd(10)}`;
}
