// The status-reason modal's submission: validates the reason, applies the change through
// core (history, events, alerts, writeback) and refreshes the card the button was on.
import type { App } from '@slack/bolt';
import { z } from 'zod';
import { setCustomerStatus, SETTABLE_STATUSES } from '../../../core/customers/status.ts';
import { customerInWorkspace, ownerOf } from '../../../core/slack/book.ts';
import { isAppError } from '../../../core/errors.ts';
import { log } from '../../../core/log.ts';
import { STATUS_MODAL_CALLBACK, REASON_BLOCK, REASON_ACTION, customerCard, cardText } from '../../blocks/card.ts';
import { workspaceForTeam } from '../workspace.ts';

const metadataSchema = z.object({ customer_id: z.string(), status: z.enum(SETTABLE_STATUSES), response_url: z.string().url().nullable() });

export function registerStatusReasonView(app: App): void {
  app.view(STATUS_MODAL_CALLBACK, async ({ ack, body, view }) => {
    const reason = (view.state.values[REASON_BLOCK]?.[REASON_ACTION]?.value ?? '').trim();
    if (!reason) return void (await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'Please say why (it goes into the history).' } }));
    if (reason.length > 2000) return void (await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'Keep it under 2000 characters.' } }));
    let meta: z.infer<typeof metadataSchema>;
    try {
      meta = metadataSchema.parse(JSON.parse(view.private_metadata));
    } catch {
      return void (await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'This form is out of date; open the card again.' } }));
    }
    const workspaceId = await workspaceForTeam(body.team?.id ?? body.user.team_id);
    if (!workspaceId || !(await customerInWorkspace(workspaceId, meta.customer_id))) {
      return void (await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'This customer is not available in your Pivotal workspace.' } }));
    }
    try {
      await setCustomerStatus({ customerId: meta.customer_id, workspaceId, status: meta.status, reason, actor: { type: 'slack_user', id: body.user.id, name: body.user.name } });
    } catch (err) {
      log.warn({ err }, 'status change from Slack failed');
      return void (await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: isAppError(err) ? err.message : 'Saving failed; please try again.' } }));
    }
    await ack();
    if (meta.response_url) {
      const customer = await customerInWorkspace(workspaceId, meta.customer_id);
      if (!customer) return;
      const owner = await ownerOf(workspaceId, customer);
      // Refresh the ephemeral card in place; best effort (response_urls expire after 30 minutes).
      await fetch(meta.response_url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ replace_original: true, response_type: 'ephemeral', blocks: customerCard(customer, { owner }), text: cardText(customer) }),
      }).catch((err: unknown) => log.warn({ err }, 'card refresh failed'));
    }
  });
}
