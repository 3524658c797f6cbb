// Portal authentication state: one-time sign-in links, server-side sessions and one-use
// grants. Only hashes of tokens and ids are stored, so a database dump replays nothing.
import { Schema } from 'mongoose';
import { defineModel } from './define.ts';

const loginTokenSchema = new Schema(
  {
    token_hash: { type: String, required: true, unique: true },
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    email: { type: String, required: true },
    expires_at: { type: Date, required: true },
    used_at: { type: Date, default: null },
  },
  { timestamps: true },
);
export const LoginToken = defineModel('LoginToken', loginTokenSchema, 'login_tokens');

// Portal sessions, kept server-side so signing out (or an operator) ends them for good:
// the cookie carries a random id, only its hash is stored. Expired ones go by TTL.
const portalSessionSchema = new Schema(
  {
    id_hash: { type: String, required: true, unique: true },
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    email: { type: String, required: true },
    expires_at: { type: Date, required: true },
  },
  { timestamps: true },
);
portalSessionSchema.index({ expires_at: 1 }, { expireAfterSeconds: 0 });
portalSessionSchema.index({ workspace_id: 1, email: 1 });
export const PortalSession = defineModel('PortalSession', portalSessionSchema, 'portal_sessions');

// One-use grants bound to a signed-in admin's browser: the nonce of an OAuth connect
// (kind 'oauth_connect') or of a Slack install (kind 'slack_install'). Deleting the
// document is how it is used, so exactly one request can use it. Expired ones go by TTL.
const authGrantSchema = new Schema(
  {
    nonce_hash: { type: String, required: true, unique: true },
    kind: { type: String, enum: ['oauth_connect', 'slack_install'], required: true },
    workspace_id: { type: Schema.Types.ObjectId, required: true },
    email: { type: String, default: null },
    data: { type: Schema.Types.Mixed, default: null },
    expires_at: { type: Date, required: true },
  },
  { timestamps: true },
);
authGrantSchema.index({ expires_at: 1 }, { expireAfterSeconds: 0 });
export const AuthGrant = defineModel('AuthGrant', authGrantSchema, 'auth_grants');
