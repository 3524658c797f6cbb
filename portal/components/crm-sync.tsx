// The CRM part of /connections/:id, in the order of the sync lifecycle: Validate (problem
// records + CSV), Preview of the first 10 (each linked to its customer), Full sync with a
// progress bar and counts that follow the run live, then the settings (source filter
// from the source's own values, writeback, hourly auto-sync).
import { Form } from '@remix-run/react';
import { formatWhen } from './when.tsx';

interface RunView {
  id: string;
  kind: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  message: string | null;
  counts: Record<string, number>;
  progress: { done: number; total: number | null; phase: string | null };
  percent: number | null;
}

interface CheckView extends Omit<RunView, 'percent'> {
  problems: { object_type: string; record_id: string; name?: string | null; match_key?: string | null; problem: string }[];
  problem_count: number;
  results: { object_type?: string; external_id?: string; name?: string | null; domain?: string | null; action?: string; display_id: number | null }[];
}

const COUNTS = ['created', 'updated', 'unchanged', 'matched', 'unmatched', 'skipped', 'ambiguous', 'archived', 'errors'] as const;

export function SyncProgress({ run, timezone }: { run: RunView | null; timezone: string }) {
  if (!run) return <p className="muted">No full sync yet. Validate and preview first, then run the full sync.</p>;
  const active = run.status === 'running' || run.status === 'paused' || run.status === 'queued';
  const pct = run.percent ?? (active ? null : 100);
  return (
    <div data-testid="sync-progress">
      <p>
        {run.kind} sync <span className={`pill ${run.status}`}>{run.status}</span>
        {` · ${active ? 'started' : 'finished'} ${formatWhen(active ? run.started_at : (run.finished_at ?? run.started_at), timezone)}`}
      </p>
      <div className="progress">
        <progress max={100} value={pct ?? undefined} aria-label={`${run.kind} sync progress`} aria-valuetext={pct === null ? 'working' : `${pct}%`} />
        <span data-testid="progress-text">
          {pct === null ? `${run.progress.done} records` : `${pct}%`}
          {run.progress.total ? ` · ${run.progress.done} of ${run.progress.total}` : ''}
        </span>
      </div>
      {run.message ? <p className="muted">{run.message}</p> : null}
      <dl className="counts">
        {COUNTS.map((k) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd data-count={k}>{run.counts[k] ?? 0}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

export function CheckResult({ check, connectionId, timezone }: { check: CheckView | null; connectionId: string; timezone: string }) {
  if (!check) return <p className="muted">Not validated yet.</p>;
  const done = check.finished_at ? ` · finished ${formatWhen(check.finished_at, timezone)}` : '';
  return (
    <div data-testid="check-result">
      <p>
        {check.kind === 'validate' ? 'Validation' : 'Preview'} <span className={`pill ${check.status}`}>{check.status}</span>
        {done}
      </p>
      {check.kind === 'validate' && check.status === 'succeeded' ? (
        check.problem_count ? (
          <>
            <div className="scroll">
              <table className="grid compact" aria-label="Problem records">
                <thead>
                  <tr><th>Record</th><th>Name</th><th>Problem</th></tr>
                </thead>
                <tbody>
                  {check.problems.map((p) => (
                    <tr key={`${p.object_type}:${p.record_id}:${p.problem}`}>
                      <td><code>{p.record_id}</code></td>
                      <td>{p.name ?? '—'}</td>
                      <td>{p.problem}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p>
              <a href={`/connections/${connectionId}/problems.csv`} download>
                Download all {check.problem_count} problem records (CSV)
              </a>{' '}
              <span className="muted">They are skipped; you may go ahead.</span>
            </p>
          </>
        ) : (
          <p>No problem records: every record can be matched.</p>
        )
      ) : null}
      {check.kind === 'preview' && check.results.length ? (
        <div className="scroll">
          <table className="grid compact" aria-label="Preview results">
            <thead>
              <tr><th>Record</th><th>Name</th><th>Domain</th><th>Result</th></tr>
            </thead>
            <tbody>
              {check.results.map((r, i) => (
                <tr key={`${r.external_id}:${i}`}>
                  <td><code>{r.external_id}</code></td>
                  <td>{r.display_id ? <a href={`/customers/${r.display_id}`}>{r.name ?? `#${r.display_id}`}</a> : (r.name ?? '—')}</td>
                  <td>{r.domain ?? '—'}</td>
                  <td>{r.action}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {check.message ? <p className="muted">{check.message}</p> : null}
    </div>
  );
}

export interface CrmSettingsView {
  writeback: boolean;
  auto_sync: boolean;
  filter: Record<string, unknown> | null;
}

type FilterChoicesView = { lifecycle_stages: string[]; fields?: { name: string; label: string; type: string; options?: string[] }[]; error: string | null };
const FIELD_FILTER_OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'like'];

/** Salesforce: Accounts that are customers, as field/operator/value conditions (all must hold); checked against describe when saved. */
function FieldFilter({ filter, choices }: { filter: unknown; choices: FilterChoicesView }) {
  const saved = (Array.isArray(filter) ? filter : filter && typeof filter === 'object' ? [filter] : []) as { field?: string; operator?: string; value?: unknown }[];
  const rows = [...saved, { field: '', operator: '=', value: '' }];
  return (
    <>
      <h3>Which Accounts are customers</h3>
      {choices.error ? <p className="banner warning">Salesforce's Account fields could not be listed: {choices.error}</p> : null}
      <p className="muted">Every condition must hold; no condition: every Account counts. For in / not in, separate values with commas. An Account that leaves the filter is archived, not deleted.</p>
      <datalist id="account-fields">
        {(choices.fields ?? []).map((f) => (
          <option key={f.name} value={f.name}>{`${f.label} (${f.type})${f.options?.length ? `: ${f.options.slice(0, 8).join(', ')}` : ''}`}</option>
        ))}
      </datalist>
      {rows.map((r, i) => (
        <div className="filter-row" key={i}>
          <label className="field">
            Field <input type="text" name="filter_field" list="account-fields" defaultValue={r.field ?? ''} placeholder="e.g. Type" autoComplete="off" />
          </label>
          <label className="field">
            Operator{' '}
            <select name="filter_operator" defaultValue={r.operator ?? '='}>
              {FIELD_FILTER_OPERATORS.map((o) => (
                <option key={o} value={o}>{o}</option>
              ))}
            </select>
          </label>
          <label className="field">
            Value <input type="text" name="filter_value" defaultValue={Array.isArray(r.value) ? r.value.join(', ') : r.value == null ? '' : String(r.value)} placeholder="e.g. Customer - Direct" />
          </label>
        </div>
      ))}
    </>
  );
}

export function CrmSettings({ settings, choices, canEdit, busy, provider }: { settings: CrmSettingsView; choices: FilterChoicesView; canEdit: boolean; busy: boolean; provider: string }) {
  const stages = new Set((settings.filter?.lifecycle_stages as string[] | undefined) ?? []);
  return (
    <Form method="post">
      <fieldset disabled={!canEdit || busy} className="plain">
        <section className="card" aria-label="Settings">
          <h2>Settings</h2>
          {provider === 'hubspot' ? (
            <>
              <h3>Which companies are customers</h3>
              {choices.error ? <p className="banner warning">HubSpot's lifecycle stages could not be listed: {choices.error}</p> : null}
              {choices.lifecycle_stages.length ? (
                <div className="checks">
                  {choices.lifecycle_stages.map((s) => (
                    <label key={s} className="choice">
                      <input type="checkbox" name="lifecycle_stages" value={s} defaultChecked={stages.has(s)} /> {s}
                    </label>
                  ))}
                </div>
              ) : null}
              <p className="muted">No stage ticked: every company counts. A company that leaves the filter is archived, not deleted.</p>
              <label className="field">
                Or only the members of a HubSpot list <span className="muted">(list id)</span>
                <input type="text" name="list_id" inputMode="numeric" defaultValue={String(settings.filter?.list_id ?? '')} placeholder="e.g. 42" />
              </label>
            </>
          ) : null}
          {provider === 'salesforce' ? <FieldFilter filter={settings.filter} choices={choices} /> : null}
          <h3>Toggles</h3>
          <label className="choice">
            <input type="checkbox" name="writeback" defaultChecked={settings.writeback} /> Write status, owner and plan back to {provider === 'hubspot' ? 'HubSpot' : provider === 'salesforce' ? 'Salesforce' : 'the source'}
          </label>
          <label className="choice">
            <input type="checkbox" name="auto_sync" defaultChecked={settings.auto_sync} /> Sync automatically every hour <span className="muted">(webhooks and the nightly reconcile run either way)</span>
          </label>
          {canEdit ? (
            <p>
              <button type="submit" name="intent" value="settings">{busy ? 'Saving…' : 'Save settings'}</button>
            </p>
          ) : null}
        </section>
      </fieldset>
    </Form>
  );
}
