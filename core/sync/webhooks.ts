// HubSpot webhook events into the inbound pipeline: each event is routed by its portal id
// to the connections of that portal and recorded per portal (event ids are HubSpot's per
// portal, so one portal's id never hides another's event); processing re-reads the object.
import { Connection } from '../models/connection.ts';
import type { WebhookEvent } from '../connectors/connector.ts';
import { recordInboundEvents, type InboundEventInput, type RecordOutcome, type StoredInboundEvent } from '../inbound/pipeline.ts';
import { syncRecord } from './engine.ts';

export async function recordHubspotEvents(events: WebhookEvent[]): Promise<RecordOutcome> {
  const byPortal = new Map<string, { _id: any; workspace_id: any }[]>();
  const inputs: InboundEventInput[] = [];
  for (const e of events) {
    const account = e.accountId ?? '';
    if (!byPortal.has(account)) {
      byPortal.set(account, await Connection.find({ provider: 'hubspot', external_account_id: account, state: { $ne: 'disconnected' } }, { _id: 1, workspace_id: 1 }).lean());
    }
    const conns = byPortal.get(account)!;
    const base = { provider: 'hubspot' as const, accountId: e.accountId ?? null, eventId: e.eventId, type: e.type, occurredAt: e.occurredAt, payload: { kind: e.kind, external_id: e.externalId, deleted: e.deleted ?? false } };
    if (!conns.length) inputs.push({ ...base, connection: null });
    for (const c of conns) inputs.push({ ...base, connection: c });
  }
  return recordInboundEvents(inputs);
}

/** Processing of one HubSpot event: re-read the object, so out-of-order deliveries converge on the newest state. */
export async function processHubspotEvent(event: StoredInboundEvent): Promise<void> {
  const kind = event.payload.kind === 'billing' ? 'customer' : event.payload.kind;
  const summary = await syncRecord(String(event.connection_id), kind, String(event.payload.external_id), 'webhook');
  if (summary.status === 'failed') throw new Error(summary.message ?? 'record sync failed');
}
