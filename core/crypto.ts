// AES-256-GCM for secrets at rest (OAuth tokens, API keys, webhook secrets). The stored
// form is "v1.<iv>.<tag>.<ciphertext>" in base64url so a key rotation can add "v2".
import crypto from 'node:crypto';
import { env } from './env.ts';
import { AppError } from './errors.ts';

// The KeyObject is kept per key text: building one per call was a measurable share of the
// bot's CPU per /pivotal (every answer decrypts its workspace's bot token).
let cachedKey: { text: string; key: crypto.KeyObject } | null = null;
function key(): crypto.KeyObject {
  const text = env().ENCRYPTION_KEY;
  if (cachedKey?.text !== text) cachedKey = { text, key: crypto.createSecretKey(Buffer.from(text, 'base64')) };
  return cachedKey.key;
}

export function encryptSecret(plaintext: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key(), iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

export function decryptSecret(stored: string): string {
  const [version, iv, tag, ct] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || ct === undefined) throw new AppError('config', 'Stored secret has an unknown format');
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key(), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new AppError('config', 'Stored secret cannot be decrypted: was ENCRYPTION_KEY changed?');
  }
}

export function encryptJson(value: unknown): string {
  return encryptSecret(JSON.stringify(value));
}

export function decryptJson<T>(stored: string): T {
  return JSON.parse(decryptSecret(stored)) as T;
}

/** Constant-time comparison of two strings (signatures, tokens). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}
