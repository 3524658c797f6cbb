// The outbound-webhook services the portal's routes receive through context.pivotal.webhooks,
// scoped to the signed-in member's workspace.
import { Types } from 'mongoose';
import { createEndpoint, deleteEndpoint, getEndpoint, endpointView, listDeliveries, listEndpoints, replayDelivery, replayFailedSince, setEndpointEnabled } from './endpoints.ts';
import { WEBHOOK_EVENT_TYPES } from '../models/webhooks.ts';

const ws = (id: string) => new Types.ObjectId(id);

export const webhookPortal = {
  eventTypes: WEBHOOK_EVENT_TYPES.filter((t) => t !== 'webhook.ping'),
  list: (workspaceId: string) => listEndpoints(ws(workspaceId)),
  create: (workspaceId: string, input: { url: string; events: string[]; livemode: boolean; allowPrivate: boolean; createdBy: string }) => createEndpoint({ workspaceId: ws(workspaceId), ...input }),
  get: async (workspaceId: string, endpointId: string) => endpointView(await getEndpoint(endpointId, ws(workspaceId))),
  deliveries: (workspaceId: string, endpointId: string, status?: string) => listDeliveries(endpointId, { workspaceId: ws(workspaceId), status, limit: 100 }),
  setEnabled: (workspaceId: string, endpointId: string, enabled: boolean) => setEndpointEnabled(endpointId, ws(workspaceId), enabled),
  remove: (workspaceId: string, endpointId: string) => deleteEndpoint(endpointId, ws(workspaceId)),
  replay: (workspaceId: string, deliveryId: string) => replayDelivery(deliveryId, ws(workspaceId)),
  replayFailedSince: (workspaceId: string, endpointId: string, since: Date) => replayFailedSince(endpointId, since, ws(workspaceId)),
};
