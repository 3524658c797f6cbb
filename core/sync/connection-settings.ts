// A CRM connection's settings as the portal edits them: the source filter (HubSpot
// lifecycle stages from the source's own property options, or a list id; Salesforce
// field/operator/value conditions checked against describe before they are saved),
// writeback and the hourly auto-sync. Bad input is refused with the reason and nothing is saved.
import { z } from 'zod';
import { getConnector } from '../connectors/registry.ts';
import { ConnectorError } from '../connectors/connector.ts';
import { AppError, errorMessage } from '../errors.ts';
import { connectorContext, updateConnectionSettings, type ConnectionDoc } from './connections.ts';
import { withProvider } from './engine.ts';

const settingsInput = z.object({
  writeback: z.boolean(),
  auto_sync: z.boolean(),
  lifecycle_stages: z.array(z.string().trim().min(1)).max(50),
  list_id: z.string().trim().regex(/^\d{0,12}$/, 'A HubSpot list id is a number (Contacts → Lists, in the list URL)'),
});

export interface FilterChoices {
  lifecycle_stages: string[];
  /** the fields a field filter may name (Salesforce), with their type and picklist values */
  fields: { name: string; label: string; type: string; options?: string[] }[];
  error: string | null;
}

/** The values the source offers for the filter (HubSpot's lifecycle stages, Salesforce's Account fields), read from the source. */
export async function filterChoices(conn: ConnectionDoc): Promise<FilterChoices> {
  const none: FilterChoices = { lifecycle_stages: [], fields: [], error: null };
  if ((conn.provider !== 'hubspot' && conn.provider !== 'salesforce') || conn.state !== 'connected') return none;
  const connector = getConnector(conn.provider);
  const ctx = connectorContext(conn);
  try {
    const props = await withProvider(conn, connector, ctx, () => connector.listProperties(ctx, 'customer'));
    if (conn.provider === 'salesforce') return { ...none, fields: props.map((p) => ({ name: p.name, label: p.label, type: p.type, options: p.options })) };
    return { ...none, lifecycle_stages: props.find((p) => p.name === 'lifecyclestage')?.options ?? [] };
  } catch (e) {
    return { ...none, error: e instanceof Error ? e.message : String(e) };
  }
}

const FIELD_FILTER_LIST = /^(in|not in)$/;

/** Field filter rows as the form sends them (filter_field/operator/value, one per row); empty rows are skipped. */
export function fieldFilterFromForm(form: { getAll(name: string): unknown[] }): { field: string; operator: string; value: string | string[] }[] {
  const fields = form.getAll('filter_field').map((v) => String(v).trim());
  const operators = form.getAll('filter_operator').map(String);
  const values = form.getAll('filter_value').map(String);
  return fields.flatMap((field, i) => {
    if (!field) return [];
    const operator = (operators[i] ?? '=').trim();
    const raw = values[i] ?? '';
    return [{ field, operator, value: FIELD_FILTER_LIST.test(operator) ? raw.split(',').map((v) => v.trim()).filter(Boolean) : raw }];
  });
}

/**
 * Refuses a source filter the source would not run, before it is saved, with the source's
 * reason naming the field, operator or value. A source that cannot be asked right now
 * (down, quota) is "unavailable": try again, nothing was saved.
 */
export async function checkSourceFilter(conn: ConnectionDoc, filter: unknown): Promise<void> {
  const connector = getConnector(conn.provider);
  if (!connector.checkFilter || filter == null) return;
  if (conn.state !== 'connected') throw new AppError('conflict', `This connection is ${conn.state}: reconnect it before changing the source filter`);
  const ctx = connectorContext(conn);
  let problem: string | null;
  try {
    problem = await withProvider(conn, connector, ctx, () => connector.checkFilter!(ctx, filter));
  } catch (e) {
    if (e instanceof ConnectorError || e instanceof AppError) throw new AppError('unavailable', `The source filter could not be checked against ${conn.provider} (${errorMessage(e)}); nothing was saved, try again`);
    throw e;
  }
  if (problem) throw new AppError('bad_input', problem);
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
  if (getConnector(conn.provider).checkFilter) {
    const conditions = fieldFilterFromForm(form);
    await checkSourceFilter(conn, conditions.length ? conditions : null);
    await updateConnectionSettings(String(conn._id), { writeback: d.writeback, auto_sync: d.auto_sync, filter: conditions.length ? conditions : null });
    return;
  }
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

/** Sets (or clears, with null) a field source filter from the CLI: checked like the portal's, nothing saved when it fails. */
export async function saveSourceFilter(conn: ConnectionDoc, filter: unknown): Promise<unknown> {
  if (!getConnector(conn.provider).checkFilter) throw new AppError('bad_input', `A ${conn.provider} connection has no field filter: set its filter on the connection page`);
  const value = Array.isArray(filter) && filter.length === 0 ? null : filter;
  await checkSourceFilter(conn, value);
  await updateConnectionSettings(String(conn._id), { filter: value });
  return value;
}
