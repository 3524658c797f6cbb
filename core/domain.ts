// Domain normalisation, the default match key: lowercase, no scheme, no "www.", no
// path, port or trailing dot, and punycode for internationalised names, so
// "https://WWW.Acme.com/pricing" and "acme.com" are the same customer.
import { domainToASCII } from 'node:url';

const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

export function normalizeDomain(input: string | null | undefined): string | null {
  if (input == null) return null;
  let s = String(input).trim().toLowerCase();
  if (!s) return null;
  if (s.includes('@')) s = s.slice(s.lastIndexOf('@') + 1);
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/^\/\//, '');
  s = s.split(/[/?#\s]/)[0] ?? '';
  s = s.replace(/^[^@]*@/, '').replace(/:\d+$/, '').replace(/\.+$/, '');
  while (s.startsWith('www.')) s = s.slice(4);
  if (!s) return null;
  const ascii = domainToASCII(s);
  if (!ascii || !HOSTNAME.test(ascii)) return null;
  return ascii;
}

/** The domain part of an email address, normalised; null when there is none. */
export function domainFromEmail(email: string | null | undefined): string | null {
  if (!email) return null;
  const at = email.lastIndexOf('@');
  if (at < 1) return null;
  return normalizeDomain(email.slice(at + 1));
}
