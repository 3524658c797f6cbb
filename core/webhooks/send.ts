// One HTTP attempt of an outbound webhook: the signed body POSTed with the Standard
// Webhooks headers (webhook-id, webhook-timestamp, webhook-signature, signed by the
// `standardwebhooks` reference library), 10 s to answer, redirects not followed, and the
// target re-checked against private addresses at connection time unless the endpoint
// allows them.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Webhook } from 'standardwebhooks';
import { isPrivateAddress, publicOnlyLookup } from './ssrf.ts';

export const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_KEPT = 1_000;

export interface AttemptOutcome {
  ok: boolean;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
  duration_ms: number;
}

export function signedHeaders(secret: string, eventId: string, body: string, at = new Date()): Record<string, string> {
  const signature = new Webhook(secret).sign(eventId, at, body);
  return { 'webhook-id': eventId, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
}

export function sendWebhook(target: { url: string; secret: string; allowPrivate: boolean }, eventId: string, body: string, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<AttemptOutcome> {
  const started = Date.now();
  const done = (o: Omit<AttemptOutcome, 'duration_ms'>): AttemptOutcome => ({ ...o, duration_ms: Date.now() - started });
  const url = new URL(target.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!target.allowPrivate && net.isIP(host) && isPrivateAddress(host)) return Promise.resolve(done({ ok: false, status_code: null, error: `refused: ${host} is a private address`, response_body: null }));
  const headers = { 'content-type': 'application/json', 'user-agent': 'Pivotal-Webhooks/1', ...signedHeaders(target.secret, eventId, body) };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const req = client.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs, ...(target.allowPrivate ? {} : { lookup: publicOnlyLookup }) },
      (res) => {
        let kept = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (kept.length < MAX_RESPONSE_KEPT) kept += chunk.slice(0, MAX_RESPONSE_KEPT - kept.length);
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          const ok = code >= 200 && code < 300;
          const error = ok ? null : code >= 300 && code < 400 ? `redirect to ${res.headers.location ?? '?'} not followed` : `HTTP ${code}`;
          resolve(done({ ok, status_code: code, error, response_body: kept || null }));
        });
        res.on('error', (err) => resolve(done({ ok: false, status_code: res.statusCode ?? null, error: err.message, response_body: kept || null })));
      },
    );
    // the socket timeout covers a silent server; the overall timer covers a slow trickle
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(done({ ok: false, status_code: null, error: err.code === 'EPRIVATE' ? `refused: ${err.message}` : err.message, response_body: null })));
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}
