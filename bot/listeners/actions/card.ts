// The card's buttons: pick from a list, share in channel, mark at risk / churned / active
// (opens the reason modal), resync. Every customer id from a button is re-checked against
// the workspace of the team that clicked it.
import type { App, BlockButtonAction } from '@slack/bolt';
import { customerInWorkspace, ownerOf, requestCustomerResync } from '../../../core/slack/book.ts';
import { log } from '../../../core/log.ts';
import { ACTIONS, customerCard, cardText, statusReasonModal, textBlocks } from '../../blocks/card.ts';
import { workspaceForTeam, NOT_CONNECTED } from '../workspace.ts';

const STATUS_BY_ACTION = {
  [ACTIONS.markAtRisk]: 'at_risk',
  [ACTIONS.markChurned]: 'churned',
  [ACTIONS.markActive]: 'active',
} as const;

export function registerCardActions(app: App): void {
  app.action<BlockButtonAction>(new RegExp(`^(${ACTIONS.pick}(:\\d+)?|${ACTIONS.share}|${ACTIONS.resync}|${ACTIONS.markAtRisk}|${ACTIONS.markChurned}|${ACTIONS.markActive})$`), async ({ ack, body, action, respond, client }) => {
    await ack();
    try {
      const workspaceId = await workspaceForTeam(body.team?.id);
      if (!workspaceId) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: NOT_CONNECTED }));
      const customer = await customerInWorkspace(workspaceId, action.value ?? '');
      if (!customer) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: 'That customer no longer exists in Pivotal.' }));
      const id = action.action_id;

      if (id.startsWith(ACTIONS.pick)) {
        const owner = await ownerOf(workspaceId, customer);
        return void (await respond({ response_type: 'ephemeral', replace_original: true, blocks: customerCard(customer, { owner }) as any, text: cardText(customer) }));
      }
      if (id === ACTIONS.share) {
        const owner = await ownerOf(workspaceId, customer);
        return void (await respond({ response_type: 'in_channel', replace_original: false, blocks: customerCard(customer, { owner, shared: true, sharedBy: body.user.id }) as any, text: cardText(customer) }));
      }
      if (id === ACTIONS.resync) {
        const queued = await requestCustomerResync(String(customer._id), { type: 'slack_user', id: body.user.id });
        const text = queued ? 'Resync queued: the card will show fresh data in a minute.' : 'This customer is not linked to a source record, so there is nothing to resync.';
        return void (await respond({ response_type: 'ephemeral', replace_original: false, blocks: textBlocks(text) as any, text: queued ? 'Resync queued' : 'Nothing to resync' }));
      }
      const status = STATUS_BY_ACTION[id as keyof typeof STATUS_BY_ACTION];
      if (status) {
        const metadata = JSON.stringify({ customer_id: String(customer._id), status, response_url: body.response_url ?? null });
        await client.views.open({ trigger_id: body.trigger_id, view: statusReasonModal(customer, status, metadata) as any });
      }
    } catch (err) {
      log.error({ err, action: action.action_id }, 'card action failed');
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'That did not work. Please try again.' }).catch(() => {});
    }
  });
}
