// What the portal's connection screens call: every function takes the signed-in member's
// workspace and refuses a connection of another workspace as "not found". Role checks
// (owner/admin for changes) stay in the portal's one guard; the rules live here and in the
// modules this one gathers (token connect, views, settings, mapping editor).
import { Types } from 'mongoose';
import { Customer } from '../models/customer.ts';
import { SyncRun } from '../models/sync.ts';
import { AppError } from '../errors.ts';
import { connectOptions, oauthConfigured, oauthStartPath, connectOption } from './providers.ts';
import { connectWithToken, reconnectWithToken } from './token-connect.ts';
import { connectionOfWorkspace, connectionOverview, ignoreErrors, integrationLog, latestRun, openErrorRows, queueConnectionRun, retryError } from './connection-views.ts';
import { filterChoices, saveCrmSettings } from './connection-settings.ts';
import { mappingView, previewMapping, saveMapping, PIVOTAL_FIELDS, CUSTOM_FIELD_TYPES } from './mapping-editor.ts';
import { disconnect } from './connections.ts';
import { problemsCsv, syncErrorsCsv, runSummary } from './runs.ts';
import { crmAmbiguities, parseCrmChoice, resolveCrmAmbiguity } from './crm-ambiguous.ts';

/** The ways to connect, each with whether its OAuth app is configured here. */
function options() {
  return connectOptions().map((o) => ({ ...o, oauth: oauthConfigured(o), oauthPath: oauthStartPath(o) }));
}

function option(key: string) {
  const o = connectOption(key);
  if (!o) throw new AppError('not_found', `Unknown way to connect: "${key}"`);
  return { ...o, oauth: oauthConfigured(o), oauthPath: oauthStartPath(o) };
}

/** Display ids of the customers a preview created or matched, so each row links to its customer page. */
async function withDisplayIds(results: { customer_id?: string | null }[]) {
  const ids = results.map((r) => r.customer_id).filter((id): id is string => !!id && Types.ObjectId.isValid(id));
  const rows = ids.length ? await Customer.find({ _id: { $in: ids } }, { display_id: 1 }).lean() : [];
  const byId = new Map(rows.map((c) => [String(c._id), c.display_id]));
  return results.map((r) => ({ ...r, display_id: r.customer_id ? (byId.get(r.customer_id) ?? null) : null }));
}

/** Everything /connections/:id shows for a CRM connection (Stripe adds its billing settings). */
async function page(workspaceId: string, connectionId: string) {
  const conn = await connectionOfWorkspace(workspaceId, connectionId);
  const overview = await connectionOverview(String(conn._id));
  const full = await latestRun(conn._id, ['full', 'reconcile', 'incremental']);
  const checkRun = await SyncRun.findOne({ connection_id: conn._id, kind: { $in: ['validate', 'preview'] } }).sort({ createdAt: -1 }).lean();
  const check = checkRun ? runSummary(checkRun) : null;
  const problems = (check?.problems ?? []) as { object_type: string; record_id: string; name?: string | null; match_key?: string | null; problem: string }[];
  return {
    overview,
    last_sync: full,
    check: check
      ? { ...check, problems: problems.slice(0, 50), problem_count: problems.length, results: await withDisplayIds((check.results ?? []) as { customer_id?: string | null }[]) }
      : null,
    open_errors: (await openErrorRows(conn._id)).length,
    filter_choices: await filterChoices(conn),
  };
}

async function validationCsv(workspaceId: string, connectionId: string) {
  const conn = await connectionOfWorkspace(workspaceId, connectionId);
  const run = await SyncRun.findOne({ connection_id: conn._id, kind: 'validate' }).sort({ createdAt: -1 }).lean();
  return problemsCsv((run?.problems ?? []) as Parameters<typeof problemsCsv>[0]);
}

export const connectionsAdmin = {
  options,
  option,
  connectWithToken: (workspaceId: string, optionKey: string, form: { token: string; instanceUrl?: string }) => connectWithToken({ workspaceId, optionKey, ...form }),
  reconnectWithToken: (workspaceId: string, connectionId: string, form: { token: string; instanceUrl?: string }) => reconnectWithToken({ workspaceId, connectionId, ...form }),
  page,
  run: queueConnectionRun,
  disconnect: async (workspaceId: string, connectionId: string) => disconnect(String((await connectionOfWorkspace(workspaceId, connectionId))._id)),
  saveSettings: async (workspaceId: string, connectionId: string, form: FormData) => saveCrmSettings(await connectionOfWorkspace(workspaceId, connectionId), form),
  log: async (workspaceId: string, connectionId: string, errorsOnly: boolean) => {
    const conn = await connectionOfWorkspace(workspaceId, connectionId);
    return { overview: await connectionOverview(String(conn._id)), runs: await integrationLog(conn._id, { errorsOnly }) };
  },
  errors: async (workspaceId: string, connectionId: string) => {
    const conn = await connectionOfWorkspace(workspaceId, connectionId);
    return { overview: await connectionOverview(String(conn._id)), errors: await openErrorRows(conn._id) };
  },
  errorsCsv: async (workspaceId: string, connectionId: string) => syncErrorsCsv((await connectionOfWorkspace(workspaceId, connectionId))._id),
  validationCsv,
  ignore: async (workspaceId: string, connectionId: string, target: { errorId: string } | { all: true }) => ignoreErrors((await connectionOfWorkspace(workspaceId, connectionId))._id, target),
  retry: async (workspaceId: string, connectionId: string, errorId: string) => retryError((await connectionOfWorkspace(workspaceId, connectionId))._id, errorId),
  mapping: async (workspaceId: string, connectionId: string) => {
    const conn = await connectionOfWorkspace(workspaceId, connectionId);
    return { overview: await connectionOverview(String(conn._id)), view: await mappingView(String(conn._id)), fields: PIVOTAL_FIELDS, customTypes: CUSTOM_FIELD_TYPES };
  },
  ambiguous: async (workspaceId: string, connectionId: string) => {
    const conn = await connectionOfWorkspace(workspaceId, connectionId);
    return { overview: await connectionOverview(String(conn._id)), matches: await crmAmbiguities(conn) };
  },
  resolveAmbiguous: async (workspaceId: string, connectionId: string, matchId: string, choice: string, by: string) =>
    resolveCrmAmbiguity(await connectionOfWorkspace(workspaceId, connectionId), matchId, parseCrmChoice(choice), by),
  saveMapping: async (workspaceId: string, connectionId: string, input: unknown) => saveMapping(String((await connectionOfWorkspace(workspaceId, connectionId))._id), input),
  previewMapping: async (workspaceId: string, connectionId: string, input: unknown) => previewMapping(String((await connectionOfWorkspace(workspaceId, connectionId))._id), input),
};
