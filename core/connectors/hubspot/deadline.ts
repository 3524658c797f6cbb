// Deadlines and cancellation for the HubSpot SDK. @hubspot/api-client v14 takes no
// AbortSignal and no timeout, but it does take an `httpAgent`; this agent ties every
// socket it opens to the AbortSignal of the call that opened it (carried through the
// SDK's promise chain by AsyncLocalStorage), so an aborted or overdue call destroys its
// connection and the SDK rejects at once instead of waiting on a hung HubSpot forever.
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConnectorError } from '../connector.ts';

const current = new AsyncLocalStorage<AbortSignal>();

/** Runs fn with its HubSpot requests bound to `signal` and a deadline of timeoutMs. */
export function withDeadline<T>(timeoutMs: number, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(timeoutMs);
  return current.run(signal ? AbortSignal.any([signal, deadline]) : deadline, fn);
}

function reasonOf(signal: AbortSignal): Error {
  // A deadline is a temporary failure the engine retries; a shutdown abort passes through as is.
  if (signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError') {
    return new ConnectorError('temporary', 'HubSpot did not answer in time');
  }
  return signal.reason instanceof Error ? signal.reason : new Error('HubSpot request aborted');
}

function bind(socket: Duplex): void {
  const signal = current.getStore();
  if (!signal) return;
  if (signal.aborted) {
    socket.destroy(reasonOf(signal));
    return;
  }
  const abort = () => socket.destroy(reasonOf(signal));
  signal.addEventListener('abort', abort, { once: true });
  socket.once('close', () => signal.removeEventListener('abort', abort));
}

// No keep-alive: each request opens its own socket, so a socket belongs to one call.
class DeadlineHttpAgent extends http.Agent {
  override createConnection(...args: Parameters<http.Agent['createConnection']>): ReturnType<http.Agent['createConnection']> {
    const socket = super.createConnection(...args);
    if (socket) bind(socket);
    return socket;
  }
}
class DeadlineHttpsAgent extends https.Agent {
  override createConnection(...args: Parameters<https.Agent['createConnection']>): ReturnType<https.Agent['createConnection']> {
    const socket = super.createConnection(...args);
    if (socket) bind(socket);
    return socket;
  }
}

const agents = { http: new DeadlineHttpAgent({ keepAlive: false }), https: new DeadlineHttpsAgent({ keepAlive: false }) };

/** The agent for a HubSpot base URL (the SDK's Node transport needs one matching the scheme). */
export function deadlineAgent(baseUrl: string): http.Agent {
  return baseUrl.startsWith('https:') ? agents.https : agents.http;
}
