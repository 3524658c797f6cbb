// The Stripe part of /connections/:id: its last walk (Run sync now), Validate and Preview
// with their results, and its settings: which subscriptions count, personal email
// matching, status writeback (Stripe as customer source only) and the workspace FX table.
// Saving a change that alters billing queues a full walk so MRR follows at once.
import { Form } from '@remix-run/react';
import type { StripeSettingsView } from '../../core/sync/billing-settings.ts';
import { formatWhen } from './when.tsx';

export function StripeSections({ canEdit, s, busy, timezone }: { canEdit: boolean; s: StripeSettingsView; busy: boolean; timezone: string }) {
  const chosen = new Set(s.products);
  // Chosen products Stripe no longer lists (or could not be listed) stay visible and checked.
  const products = [...(s.available_products ?? []), ...s.products.filter((id) => !s.available_products?.some((p) => p.id === id)).map((id) => ({ id, name: id }))];
  const workspaceFx = s.fx.filter((r) => r.source === 'workspace').map((r) => `${r.currency.toUpperCase()} = ${r.rate}`);
  return (
    <>
      <section className="card">
        <p className="muted">
          {s.connection.role === 'billing_signal'
            ? 'Billing signal: plan, MRR, payment status and billing start are attached to your existing customers, matched by email domain. Stripe never creates customers here.'
            : 'Customer source: every Stripe customer is a Pivotal customer.'}
          {canEdit ? null : ' Only owners and admins can change these settings.'}
        </p>
      </section>

      <section className="card" aria-label="Last sync">
        <h2>Last sync</h2>
        <LastRun run={s.last_run} timezone={timezone} />
      </section>

      <section className="card" aria-label="Check before syncing">
        <h2>Check before syncing</h2>
        <p className="muted">
          Validate reads Stripe without writing and lists the records that will not match. Preview really syncs the first 10 Stripe
          customers and shows what became of each.
        </p>
        {s.last_check?.records_hidden ? (
          <p className="muted">
            {`Last ${s.last_check.kind}: ${s.last_check.status}${s.last_check.kind === 'validate' ? `, ${s.last_check.problem_count} problem record${s.last_check.problem_count === 1 ? '' : 's'}` : ''}. Owners and admins see the records.`}
          </p>
        ) : (
          <LastCheck check={s.last_check} csvHref={`/connections/${s.connection.id}/problems.csv`} timezone={timezone} />
        )}
        {canEdit ? (
          <Form method="post" className="actions">
            <button type="submit" name="intent" value="validate" className="secondary" disabled={busy || s.connection.state !== 'connected'}>
              Validate
            </button>
            <button type="submit" name="intent" value="preview" className="secondary" disabled={busy || s.connection.state !== 'connected'}>
              Preview
            </button>
          </Form>
        ) : null}
      </section>

      <Form method="post">
        <fieldset disabled={!canEdit || busy} className="plain">

          <section className="card">
            <h2>Subscriptions that count</h2>
            <label className="choice">
              <input type="radio" name="scope" value="all" defaultChecked={s.scope === 'all'} /> All active subscriptions
            </label>
            <label className="choice">
              <input type="radio" name="scope" value="chosen" defaultChecked={s.scope === 'chosen'} /> Only these products and price lookup keys
            </label>
            <div className="indent">
              {s.products_error ? <p className="banner warning">Stripe's products could not be listed: {s.products_error}</p> : null}
              {products.length ? (
                <div className="checks">
                  {products.map((p) => (
                    <label key={p.id} className="choice">
                      <input type="checkbox" name="products" value={p.id} defaultChecked={chosen.has(p.id)} /> {p.name}{' '}
                      <span className="muted">{p.id}</span>
                    </label>
                  ))}
                </div>
              ) : s.products_error ? null : (
                <p className="muted">This Stripe account has no products.</p>
              )}
              <label className="field">
                Price lookup keys <span className="muted">(comma-separated)</span>
                <input type="text" name="lookup_keys" defaultValue={s.lookup_keys.join(', ')} placeholder="growth_monthly, growth_annual" />
              </label>
            </div>
          </section>

          <section className="card">
            <h2>Matching</h2>
            <label className="choice">
              <input type="checkbox" name="match_personal_emails" defaultChecked={s.match_personal_emails} /> Match personal emails{' '}
              <span className="muted">(gmail.com, outlook.com, … — off by default: one domain would collect every consumer payer)</span>
            </label>
            {s.writeback !== null ? (
              <label className="choice">
                <input type="checkbox" name="writeback" defaultChecked={s.writeback} /> Write the customer's status back to Stripe{' '}
                <span className="muted">(customer metadata <code>pivotal_status</code> only; never subscriptions, invoices, prices or payments)</span>
              </label>
            ) : null}
          </section>

          <section className="card">
            <h2>Currency conversion</h2>
            <p className="muted">
              MRR is in USD. Your workspace's rates (USD value of one unit, one currency a line) override the built-in and server
              rates, for every Stripe connection of the workspace.
            </p>
            <label className="field">
              Workspace rates
              <textarea name="fx_rates_usd" rows={4} defaultValue={workspaceFx.join('\n')} placeholder={'EUR = 1.08\nGBP = 1.27'} />
            </label>
            <details>
              <summary>Rates in effect ({s.fx.length} currencies)</summary>
              <table className="grid compact">
                <tbody>
                  {s.fx.map((r) => (
                    <tr key={r.currency}>
                      <td>{r.currency.toUpperCase()}</td>
                      <td>{r.rate}</td>
                      <td className="muted">{r.source}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </section>
          {canEdit ? (
            <p>
              <button type="submit">{busy ? 'Saving…' : 'Save settings'}</button>
            </p>
          ) : null}
        </fieldset>
      </Form>
    </>
  );
}

type LastRunView = StripeSettingsView['last_run'];

const RUN_COUNTS = [
  ['matched', 'matched'],
  ['unmatched', 'unmatched (no Pivotal customer on the domain)'],
  ['skipped', 'skipped (no or personal email domain)'],
  ['ambiguous', 'ambiguous'],
  ['errors', 'errors'],
] as const;

/** What the newest walk did: when, how it ended, and the matched / unmatched / skipped counts. */
function LastRun({ run, timezone }: { run: LastRunView; timezone: string }) {
  if (!run) return <p className="muted">Not synced yet.</p>;
  const running = run.status === 'running' || run.status === 'paused';
  const when = run.finished_at ?? run.started_at;
  return (
    <>
      <p>
        {run.kind} sync <span className={`pill ${run.status}`}>{run.status}</span>
        {when ? ` · ${running ? 'started' : 'finished'} ${formatWhen(when, timezone)}` : ''}
        {running ? ` · ${run.progress.done}${run.progress.total ? ` / ${run.progress.total}` : ''} ${run.progress.phase ?? ''}` : ''}
      </p>
      {run.message ? <p className="muted">{run.message}</p> : null}
      <table className="grid compact">
        <tbody>
          {RUN_COUNTS.map(([key, label]) => (
            <tr key={key}>
              <td>{label}</td>
              <td>{run.counts[key]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

type LastCheckView = StripeSettingsView['last_check'];

/** The newest validation (problem records, CSV) or preview (each record's outcome). */
function LastCheck({ check, csvHref, timezone }: { check: LastCheckView; csvHref: string; timezone: string }) {
  if (!check) return <p className="muted">Not validated yet.</p>;
  const when = check.finished_at ? ` · finished ${formatWhen(check.finished_at, timezone)}` : '';
  return (
    <>
      <p>
        {check.kind} <span className={`pill ${check.status}`}>{check.status}</span>
        {when}
      </p>
      {check.kind === 'validate' ? (
        check.problem_count ? (
          <>
            <table className="grid compact" aria-label="Problem records">
              <thead>
                <tr>
                  <th>Stripe customer</th>
                  <th>Problem</th>
                </tr>
              </thead>
              <tbody>
                {check.problems.map((p) => (
                  <tr key={`${p.record_id}:${p.problem}`}>
                    <td><StripeId id={p.record_id} href={p.dashboard_url} /></td>
                    <td>{p.problem}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p>
              {check.problem_count > check.problems.length ? `${check.problems.length} of ${check.problem_count} shown. ` : ''}
              <a href={csvHref} download>
                Download {check.problem_count === 1 ? 'the problem record' : `all ${check.problem_count} problem records`} (CSV)
              </a>{' '}
              <span className="muted">These records are skipped; you may go ahead with the full sync.</span>
            </p>
          </>
        ) : (
          <p>No problem records: every Stripe customer in scope can be matched.</p>
        )
      ) : (
        <table className="grid compact" aria-label="Preview results">
          <thead>
            <tr>
              <th>Stripe customer</th>
              <th>Domain</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {check.results.map((r) => (
              <tr key={r.stripe_customer_id}>
                <td><StripeId id={r.stripe_customer_id} href={r.dashboard_url} /></td>
                <td>{r.domain ?? '—'}</td>
                <td>{r.outcome}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function StripeId({ id, href }: { id: string; href: string | null }) {
  return href ? (
    <a href={href} target="_blank" rel="noreferrer">
      <code>{id}</code>
    </a>
  ) : (
    <code>{id}</code>
  );
}
