// One-time sign-in links for the portal. Only a hash of the token is stored, so a
// database dump cannot be replayed as a login.
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
