// Checking a HubSpot private-app token before it is stored: one cheap call to the
// account-info API (GET /account-info/v3/details), which also names the token's portal,
// so the connection can route HubSpot webhooks without the admin typing a portal id.
import { Client } from '@hubspot/api-client';
import { z } from 'zod';
import { env } from '../../env.ts';
import { AppError } from '../../errors.ts';
import { classifyHubspotError } from './index.ts';

const accountDetails = z.object({ portalId: z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]) }).passthrough();

/** The token's portal id; a token HubSpot refuses is bad input, with HubSpot's reason. */
export async function verifyHubspotToken(accessToken: string): Promise<{ portalId: string }> {
  // Same retry setting as the connector's clients (the SDK keeps it process-wide).
  const client = new Client({ accessToken, basePath: env().HUBSPOT_API_BASE_URL.replace(/\/+$/, ''), numberOfApiCallRetries: 1 });
  let status: number;
  let body: unknown;
  let headers: Record<string, string>;
  try {
    const res = await client.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    status = res.status;
    headers = Object.fromEntries(res.headers.entries());
    body = await res.json().catch(() => null);
  } catch (e) {
    throw new AppError('unavailable', `HubSpot could not be reached to check the token: ${classifyHubspotError(e).message}`);
  }
  if (status >= 200 && status < 300) {
    const parsed = accountDetails.safeParse(body);
    if (!parsed.success) throw new AppError('unavailable', 'HubSpot answered the account-info check without a portal id; try again');
    return { portalId: String(parsed.data.portalId) };
  }
  const err = classifyHubspotError({ code: status, body, headers });
  if (status === 401 || status === 403) throw new AppError('bad_input', `HubSpot rejected the token: ${(body as { message?: string } | null)?.message ?? err.message}`);
  throw new AppError('unavailable', `HubSpot could not check the token (HTTP ${status}: ${err.message}); try again`);
}
