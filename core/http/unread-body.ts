// A response sent before its request body was read (413 too large, a refused upload)
// leaves the rest of that body on the connection, where the next keep-alive request would
// be parsed from it and fail. Such a response says "Connection: close", so Node closes the
// socket after it and the client opens a fresh one.
import type http from 'node:http';

export function closeConnectionsWithUnreadBodies(server: http.Server): void {
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
      if (!req.complete && !res.headersSent) res.setHeader('Connection', 'close');
      return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
    } as typeof res.writeHead;
  });
}
