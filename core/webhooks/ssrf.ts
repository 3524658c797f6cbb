// Keeps outbound webhooks from reaching inside the network Pivotal runs in: private,
// loopback, link-local (cloud metadata), CGNAT and other special-use addresses are refused
// for the URL's host as written, for every address its name resolves to, and again for
// the address actually connected to (a DNS lookup hook), so a name that re-resolves to
// 127.0.0.1 between the check and the request is still refused. Redirects are never
// followed (a 3xx is a failed delivery), so a public URL cannot bounce to a private one.
import dns from 'node:dns';
import net from 'node:net';
import { AppError } from '../errors.ts';

const blocked = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32], ['64:ff9b::', 96], ['100::', 64]] as const) blocked.addSubnet(addr, prefix, 'ipv6');

/** True for addresses a webhook must not reach (IPv4-mapped IPv6 checked as IPv4). */
export function isPrivateAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  const family = net.isIP(ip);
  if (family === 0) return true;
  return blocked.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** A URL an endpoint may have: http(s), no credentials, a host. */
export function parseEndpointUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new AppError('bad_input', `"${raw}" is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('bad_input', 'The webhook URL must start with https:// or http://');
  if (url.username || url.password) throw new AppError('bad_input', 'The webhook URL must not contain a user name or password');
  if (raw.length > 2048) throw new AppError('bad_input', 'The webhook URL is too long (at most 2048 characters)');
  return url;
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Refuses a URL whose host is, or resolves to, a private address. */
export async function assertPublicTarget(url: URL): Promise<void> {
  const host = hostOf(url);
  if (net.isIP(host)) {
    if (isPrivateAddress(host)) throw new AppError('bad_input', `${host} is a private, loopback or link-local address; webhooks cannot target it (use --allow-private for a development receiver)`);
    return;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) throw new AppError('bad_input', `${host} is a loopback name; webhooks cannot target it (use --allow-private for a development receiver)`);
  let addrs: dns.LookupAddress[];
  try {
    addrs = await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch {
    throw new AppError('bad_input', `${host} does not resolve`);
  }
  const bad = addrs.find((a) => isPrivateAddress(a.address));
  if (bad) throw new AppError('bad_input', `${host} resolves to ${bad.address}, a private address; webhooks cannot target it (use --allow-private for a development receiver)`);
}

/** A dns.lookup for http.request that refuses private answers at connection time. */
export const publicOnlyLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return (callback as any)(err);
    const list = addresses as unknown as dns.LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return (callback as any)(Object.assign(new Error(`${hostname} resolved to private address ${bad.address}`), { code: 'EPRIVATE' }));
    if ((options as dns.LookupOptions).all) return (callback as any)(null, list);
    (callback as any)(null, list[0]!.address, list[0]!.family);
  });
};
