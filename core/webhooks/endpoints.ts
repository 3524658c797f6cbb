// Outbound webhook endpoints of a workspace: create (URL checked against private targets,
// a whsec_ signing secret returned once and stored encrypted, a webhook.ping sent), list,
// enable again after being disabled, delete, and replays of one delivery or of every
// failed one since a date. The portal and the CLI both call these.
import crypto from 'node:crypto';
import { Types } from 'mongoose';
import { z } from 'zod';
import { WebhookDelivery, WebhookEndpoint, WEBHOOK_EVENT_TYPES } from '../models/webhooks.ts';
import { encryptSecret } from '../crypto.ts';
import { AppError } from '../errors.ts';
import { assertPublicTarget, parseEndpointUrl } from './ssrf.ts';
import { createDelivery, envelopeBody } from './deliver.ts';

const SUBSCRIBABLE = WEBHOOK_EVENT_TYPES.filter((t) => t !== 'webhook.ping');
const MAX_ENDPOINTS = 20;

export const endpointInput = z.object({
  workspaceId: z.instanceof(Types.ObjectId),
  url: z.string().trim().min(1, 'a URL is required'),
  events: z.array(z.string().trim()).default([]),
  allowPrivate: z.boolean().default(false),
  livemode: z.boolean().default(true),
  createdBy: z.string().nullish(),
});

const oid = (id: string, what: string) => {
  if (!Types.ObjectId.isValid(id)) throw new AppError('bad_input', `${what} "${id}" is not a valid id`);
  return new Types.ObjectId(id);
};

export interface EndpointView {
  id: string;
  url: string;
  events: string[];
  livemode: boolean;
  allow_private: boolean;
  state: string;
  consecutive_failures: number;
  disabled_reason: string | null;
  created_at: string | null;
}

export function endpointView(e: any): EndpointView {
  return {
    id: String(e._id),
    url: e.url,
    events: e.events ?? [],
    livemode: e.livemode !== false,
    allow_private: !!e.allow_private,
    state: e.state,
    consecutive_failures: e.consecutive_failures ?? 0,
    disabled_reason: e.disabled_reason ?? null,
    created_at: e.createdAt ? new Date(e.createdAt).toISOString() : null,
  };
}

/** Creates an endpoint and sends it webhook.ping. The secret is returned here and never again. */
export async function createEndpoint(raw: z.input<typeof endpointInput>): Promise<{ endpoint: EndpointView; secret: string; ping_delivery_id: string }> {
  const parsed = endpointInput.safeParse(raw);
  if (!parsed.success) throw new AppError('bad_input', parsed.error.issues[0]!.message);
  const input = parsed.data;
  const url = parseEndpointUrl(input.url);
  const events = [...new Set(input.events.filter(Boolean))];
  const unknown = events.filter((e) => !(SUBSCRIBABLE as readonly string[]).includes(e));
  if (unknown.length) throw new AppError('bad_input', `unknown event type ${unknown.join(', ')}; choose from ${SUBSCRIBABLE.join(', ')}`);
  if (!input.allowPrivate) await assertPublicTarget(url);
  if ((await WebhookEndpoint.countDocuments({ workspace_id: input.workspaceId })) >= MAX_ENDPOINTS) throw new AppError('conflict', `a workspace has at most ${MAX_ENDPOINTS} webhook endpoints`);
  const secret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
  const endpoint = await WebhookEndpoint.create({
    workspace_id: input.workspaceId, url: url.toString(), events, secret: encryptSecret(secret), livemode: input.livemode, allow_private: input.allowPrivate, created_by: input.createdBy ?? null,
  });
  const pingId = `evt_${String(new Types.ObjectId())}`;
  const ping = { id: pingId, type: 'webhook.ping', created_at: new Date().toISOString(), workspace_id: String(input.workspaceId), data: { object: { object: 'webhook_endpoint', id: String(endpoint._id), url: endpoint.url, events }, previous_attributes: null } };
  const deliveryId = await createDelivery(endpoint, pingId, 'webhook.ping', envelopeBody(ping, endpoint.livemode));
  return { endpoint: endpointView(endpoint.toObject()), secret, ping_delivery_id: String(deliveryId) };
}

export async function listEndpoints(workspaceId: Types.ObjectId): Promise<EndpointView[]> {
  return (await WebhookEndpoint.find({ workspace_id: workspaceId }).sort({ createdAt: 1 }).lean()).map(endpointView);
}

/** One endpoint, scoped to a workspace when one is given (the portal), by id alone for the operator CLI. */
export async function getEndpoint(endpointId: string, workspaceId?: Types.ObjectId) {
  const e = await WebhookEndpoint.findOne({ _id: oid(endpointId, 'endpoint'), ...(workspaceId ? { workspace_id: workspaceId } : {}) }).lean();
  if (!e) throw new AppError('not_found', `webhook endpoint ${endpointId} not found`);
  return e;
}

export async function setEndpointEnabled(endpointId: string, workspaceId: Types.ObjectId | undefined, enabled: boolean): Promise<EndpointView> {
  const e = await getEndpoint(endpointId, workspaceId);
  const set = enabled ? { state: 'enabled', consecutive_failures: 0, disabled_at: null, disabled_reason: null } : { state: 'disabled', disabled_at: new Date(), disabled_reason: 'Disabled by an admin' };
  return endpointView(await WebhookEndpoint.findOneAndUpdate({ _id: e._id }, { $set: set }, { returnDocument: 'after' }).lean());
}

export async function deleteEndpoint(endpointId: string, workspaceId: Types.ObjectId | undefined): Promise<void> {
  const e = await getEndpoint(endpointId, workspaceId);
  await WebhookEndpoint.deleteOne({ _id: e._id });
}

export interface DeliveryView {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  last_response: string | null;
  replay_of: string | null;
  created_at: string;
}

export function deliveryView(d: any): DeliveryView {
  const last = d.attempts?.[d.attempts.length - 1];
  return {
    id: String(d._id),
    endpoint_id: String(d.endpoint_id),
    event_id: d.event_id,
    event_type: d.event_type,
    status: d.status,
    attempts: d.attempt_count ?? 0,
    next_attempt_at: d.next_attempt_at ? new Date(d.next_attempt_at).toISOString() : null,
    last_status_code: d.last_status_code ?? null,
    last_error: d.last_error ?? null,
    last_response: last?.response_body ?? null,
    replay_of: d.replay_of ? String(d.replay_of) : null,
    created_at: new Date(d.createdAt).toISOString(),
  };
}

export const DELIVERY_STATUSES = ['pending', 'retrying', 'succeeded', 'failed'] as const;

export async function listDeliveries(endpointId: string, opts: { workspaceId?: Types.ObjectId; status?: string; limit?: number } = {}): Promise<DeliveryView[]> {
  const e = await getEndpoint(endpointId, opts.workspaceId);
  const q: Record<string, unknown> = { endpoint_id: e._id };
  if (opts.status) q.status = opts.status;
  return (await WebhookDelivery.find(q, { payload: 0 }).sort({ createdAt: -1, _id: -1 }).limit(opts.limit ?? 100).lean()).map(deliveryView);
}

/** Sends a delivery's event again, as a new delivery with the same event id and body. */
export async function replayDelivery(deliveryId: string, workspaceId?: Types.ObjectId): Promise<DeliveryView> {
  const d = await WebhookDelivery.findOne({ _id: oid(deliveryId, 'delivery'), ...(workspaceId ? { workspace_id: workspaceId } : {}) }).lean();
  if (!d) throw new AppError('not_found', `delivery ${deliveryId} not found`);
  const ep = await getEndpoint(String(d.endpoint_id));
  if (ep.state !== 'enabled') throw new AppError('conflict', 'the endpoint is disabled; enable it before replaying');
  const id = await createDelivery(ep, d.event_id, d.event_type, d.payload, d._id);
  return deliveryView(await WebhookDelivery.findById(id).lean());
}

/** Replays every failed delivery of an endpoint created since `since`. */
export async function replayFailedSince(endpointId: string, since: Date, workspaceId?: Types.ObjectId): Promise<number> {
  const ep = await getEndpoint(endpointId, workspaceId);
  if (ep.state !== 'enabled') throw new AppError('conflict', 'the endpoint is disabled; enable it before replaying');
  let n = 0;
  for await (const d of WebhookDelivery.find({ endpoint_id: ep._id, status: 'failed', createdAt: { $gte: since } }).lean().cursor()) {
    if (await createDelivery(ep, d.event_id, d.event_type, d.payload, d._id)) n++;
  }
  return n;
}
