// Registers every listener of the Bolt app (one file per listener under listeners/).
import type { App } from '@slack/bolt';

export function registerListeners(_app: App): void {}
