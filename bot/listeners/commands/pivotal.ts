// `/pivotal <query>` and its sub-commands. Acks at once (Slack's 3-second limit), then
// looks up and answers through respond() (the response_url), ephemeral by default.
import type { App, RespondFn } from '@slack/bolt';
import { Types } from 'mongoose';
import { searchCustomers, MAX_QUERY_LENGTH } from '../../../core/customers/search.ts';
import { atRiskCustomers, failingCustomers, bookOfSlackUser, ownerOf } from '../../../core/slack/book.ts';
import { isAppError } from '../../../core/errors.ts';
import { log } from '../../../core/log.ts';
import { customerCard, cardText, pickList, noMatch, customerList, helpBlocks, textBlocks } from '../../blocks/card.ts';
import { workspaceForTeam, NOT_CONNECTED } from '../workspace.ts';

export function registerPivotalCommand(app: App): void {
  app.command('/pivotal', async ({ command, ack, respond, client }) => {
    await ack();
    try {
      const workspaceId = await workspaceForTeam(command.team_id);
      if (!workspaceId) {
        await respond({ response_type: 'ephemeral', text: NOT_CONNECTED });
        return;
      }
      await answer(workspaceId, command.text ?? '', command.user_id, respond, async () => {
        const info = await client.users.info({ user: command.user_id });
        return info.user?.profile?.email ?? null;
      });
    } catch (err) {
      log.error({ err, team_id: command.team_id }, 'slash command failed');
      await respond({ response_type: 'ephemeral', text: isAppError(err) ? err.message : 'Something went wrong looking that up. Please try again.' }).catch(() => {});
    }
  });
}

async function answer(workspaceId: string, rawText: string, slackUserId: string, respond: RespondFn, slackEmail: () => Promise<string | null>): Promise<void> {
  const text = rawText.trim();
  const say = (blocks: unknown[], fallback: string) => respond({ response_type: 'ephemeral', replace_original: false, blocks: blocks as any, text: fallback });
  const sub = text.toLowerCase();
  if (!text || sub === 'help') return void (await say(helpBlocks(), 'How to use /pivotal'));
  if (sub === 'at-risk' || sub === 'at risk') {
    const list = await atRiskCustomers(workspaceId);
    return void (await say(customerList('At risk', list, 'No customers are marked at risk.'), 'At-risk customers'));
  }
  if (sub === 'failing') {
    const list = await failingCustomers(workspaceId);
    return void (await say(customerList('Payment failing', list, 'No failing payments right now.'), 'Customers with failing payments'));
  }
  if (sub === 'mine') {
    let email: string | null = null;
    try {
      email = await slackEmail();
    } catch (err) {
      log.warn({ err }, 'users.info failed; matching by Slack user id only');
    }
    const book = await bookOfSlackUser(workspaceId, slackUserId, email);
    if (!book.matched) return void (await say(textBlocks('We could not match you to a Pivotal user. Ask an admin to add your Slack email to the workspace.'), 'Not matched'));
    return void (await say(customerList('Your customers', book.customers, 'You do not own any active customers.'), 'Your customers'));
  }
  if (text.length > MAX_QUERY_LENGTH) return void (await say(textBlocks(`That search is too long (at most ${MAX_QUERY_LENGTH} characters).`), 'Search too long'));

  const result = await searchCustomers(new Types.ObjectId(workspaceId), text);
  if (result.customers.length === 1) {
    const c = result.customers[0];
    const owner = await ownerOf(workspaceId, c);
    return void (await say(customerCard(c, { owner }), cardText(c)));
  }
  if (result.customers.length > 1) return void (await say(pickList(result.customers, text), `${result.customers.length} customers match`));
  await say(noMatch(text, result.suggestions), 'No customer matches');
}
