// Registers every listener of the Bolt app (one file per listener under listeners/).
import type { App } from '@slack/bolt';
import { registerPivotalCommand } from './commands/pivotal.ts';
import { registerCardActions } from './actions/card.ts';
import { registerStatusReasonView } from './views/status-reason.ts';
import { registerAppHome } from './events/app-home.ts';
import { registerUninstallEvents } from './events/uninstall.ts';

export function registerListeners(app: App): void {
  registerPivotalCommand(app);
  registerCardActions(app);
  registerStatusReasonView(app);
  registerAppHome(app);
  registerUninstallEvents(app);
}
