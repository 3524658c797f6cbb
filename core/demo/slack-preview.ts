// The demo's Slack preview: what `npm run demo` hands the portal so its /demo/slack page can
// ask the bot `/pivotal …` exactly as Slack would (signed request, reply at a response_url)
// and show what was posted to each channel. Set once by scripts/demo.ts; null otherwise,
// so the page does not exist outside the demo.
export interface SlackPreviewMessage {
  text: string;
  blocks: unknown[];
  ts: string;
}

export interface SlackPreview {
  team: { id: string; name: string };
  /** Sends `/pivotal <text>` to the bot as a signed slash command; the ack and the replies it posted. */
  ask(text: string): Promise<{ ack: string; replies: { text: string; blocks: unknown[]; response_type: string }[] }>;
  /** The channels the demo's Slack has, with the messages (alerts) posted to each. */
  channels(): { id: string; name: string; messages: SlackPreviewMessage[] }[];
}

let preview: SlackPreview | null = null;

export function setSlackPreview(p: SlackPreview | null): void {
  preview = p;
}

export function slackPreview(): SlackPreview | null {
  return preview;
}
