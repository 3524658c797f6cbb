// A CRM connection's settings as the portal edits them: the source filter (HubSpot
// lifecycle stages from the source's own property options, or a list id), writeback and
// the hourly auto-sync. Bad input is refused with the reason and nothing is saved.
import { z } from 'zod';
import { getConnector } from '../connectors/registry.ts';
import { AppError } from '../errors.ts';
import { connectorContext, updateConnectionSettings, type ConnectionDoc } from './connections.ts';
import { withProvider } from './engine.ts';

const settingsInput = z.object({
  writeback: z.boolean(),
  auto_sync: z.boolean(),
  lifecycle_stages: z.array(z.string().trim().min(1)).max(50),
  list_id: z.string().trim().regex(/^\d{0,12}$/, 'A HubSpot list id is a number (Contacts → Lists, in the list URL)'),
});

/** The values the source offers for the filter (HubSpot's lifecycle stages), read from its properties API. */
export async function filterChoices(conn: ConnectionDoc): Promise<{ lifecycle_stages: string[]; error: string | null }> {
  if (conn.provider !== 'hubspot' || conn.state !== 'connected') return { lifecycle_stages: [], error: null };
  const connector = getConnector(conn.provider);
  const ctx = connectorContext(conn);
  try {
    const props = await withProvider(conn, connector, ctx, () => connector.listProperties(ctx, 'customer'));
    return { lifecycle_stages: props.find((p) => p.name === 'lifecyclestage')?.options ?? [], error: null };
  } catch (e) {
    return { lifecycle_stages: [], error: e instanceof Error ? e.message : String(e) };
  }
}

/** Saves the toggles and the filter; a narrower filter archives what leaves it at the next sync. */
export async function saveCrmSettings(conn: ConnectionDoc, form: { get(name: string): unknown; getAll(name: string): unknown[] }) {
  const parsed = settingsInput.safeParse({
    writeback: form.get('writeback') === 'on',
    auto_sync: form.get('auto_sync') === 'on',
    lifecycle_stages: form.getAll('lifecycle_stages').map(String),
    list_id: String(form.get('list_id') ?? ''),
  });
  if (!parsed.success) throw new AppError('bad_input', parsed.error.issues[0]!.message);
  const d = parsed.data;
  if (conn.role === 'billing_signal' && d.writeback) throw new AppError('bad_input', 'A billing signal never writes to Stripe');
  const known = (await filterChoices(conn)).lifecycle_stages;
  const unknown = d.lifecycle_stages.find((s) => known.length && !known.includes(s));
  if (unknown) throw new AppError('bad_input', `"${unknown}" is not a lifecycle stage of this HubSpot account`);
  const filter: Record<string, unknown> = { ...((conn.settings?.filter as object | undefined) ?? {}) };
  if (d.lifecycle_stages.length) filter.lifecycle_stages = d.lifecycle_stages;
  else delete filter.lifecycle_stages;
  if (d.list_id) filter.list_id = d.list_id;
  else delete filter.list_id;
  await updateConnectionSettings(String(conn._id), { writeback: d.writeback, auto_sync: d.auto_sync, filter });
}
