// Verified provider webhook events → durable InboundEvents (deduped by event id with a
// unique insert) → a queued re-read of each object. The webhook answers once this is done.
import { Connection } from '../models/connection.ts';
import { InboundEvent } from '../models/events.ts';
import { isDuplicateKeyError } from '../errors.ts';
import type { WebhookEvent } from '../connectors/connector.ts';
import { queueRecordSync } from './engine.ts';

export async function recordHubspotEvents(events: WebhookEvent[]): Promise<{ accepted: number; duplicates: number; unknown: number }> {
  let accepted = 0;
  let duplicates = 0;
  let unknown = 0;
  const connections = new Map<string, { _id: any; workspace_id: any } | null>();
  for (const e of events) {
    const account = e.accountId ?? '';
    if (!connections.has(account)) {
      connections.set(account, await Connection.findOne({ provider: 'hubspot', external_account_id: account, state: { $ne: 'disconnected' } }, { _id: 1, workspace_id: 1 }).lean());
    }
    const conn = connections.get(account);
    try {
      await InboundEvent.create({
        provider: 'hubspot', event_id: e.eventId, connection_id: conn?._id ?? null, workspace_id: conn?.workspace_id ?? null,
        type: e.type, occurred_at: e.occurredAt, payload: { kind: e.kind, external_id: e.externalId, deleted: e.deleted ?? false },
        status: conn ? 'received' : 'processed', error: conn ? null : 'no connection for this portal',
      });
    } catch (err) {
      if (isDuplicateKeyError(err)) {
        duplicates++;
        continue;
      }
      throw err;
    }
    if (!conn) {
      unknown++;
      continue;
    }
    await queueRecordSync(String(conn._id), e.kind === 'billing' ? 'customer' : e.kind, e.externalId, e.eventId);
    accepted++;
  }
  return { accepted, duplicates, unknown };
}
