// Slack installations: one per Slack team, mapped to exactly one workspace. The bot
// token (and the full Bolt installation in OAuth mode) is stored encrypted.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

const slackInstallationSchema = new Schema(
  {
    team_id: { type: String, required: true, unique: true },
    enterprise_id: { type: String, default: null },
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    team_name: { type: String, default: null },
    bot_user_id: { type: String, default: null },
    bot_token: { type: String, required: true }, // encrypted
    installation: { type: String, default: null }, // encrypted Bolt Installation JSON (OAuth mode)
    source: { type: String, enum: ['oauth', 'cli', 'env'], default: 'cli' },
    status: { type: String, enum: ['ok', 'broken'], default: 'ok' },
    status_reason: { type: String, default: null },
  },
  { timestamps: true },
);
slackInstallationSchema.index({ workspace_id: 1 });
export const SlackInstallation = defineModel('SlackInstallation', slackInstallationSchema, 'slack_installations');
