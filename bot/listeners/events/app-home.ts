// App Home: when a user opens the Home tab, publish their book (customers they own,
// at-risk and failing first).
import type { App } from '@slack/bolt';
import { bookOfSlackUser } from '../../../core/slack/book.ts';
import { log } from '../../../core/log.ts';
import { homeView } from '../../blocks/card.ts';
import { workspaceForTeam } from '../workspace.ts';

export function registerAppHome(app: App): void {
  app.event('app_home_opened', async ({ event, body, client }) => {
    if (event.tab && event.tab !== 'home') return;
    try {
      const workspaceId = await workspaceForTeam((body as { team_id?: string }).team_id);
      if (!workspaceId) {
        await client.views.publish({ user_id: event.user, view: homeView([], { matched: false, connected: false }) as any });
        return;
      }
      let email: string | null = null;
      try {
        const info = await client.users.info({ user: event.user });
        email = info.user?.profile?.email ?? null;
      } catch (err) {
        log.warn({ err }, 'users.info failed; matching by Slack user id only');
      }
      const book = await bookOfSlackUser(workspaceId, event.user, email);
      await client.views.publish({ user_id: event.user, view: homeView(book.customers, { matched: book.matched, connected: true }) as any });
    } catch (err) {
      log.error({ err }, 'app home failed');
    }
  });
}
