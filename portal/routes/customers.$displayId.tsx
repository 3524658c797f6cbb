// /customers/:displayId: one customer with billing (and its Stripe link), the health
// breakdown, contacts, source links, a status change with reason, resync, and the recent
// activity with the whole history as CSV.
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { z } from 'zod';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { expectedError } from '../forms.server.ts';
import { money, HealthPill, StatusPill } from '../components/customer-bits.tsx';
import { When } from '../components/when.tsx';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  try {
    const detail = await pivotal.customers.detail(member, params.displayId ?? '');
    return json({ member: { email: member.email, role: member.role }, workspace: await pivotal.workspaceFrame(member.workspaceId), ...detail });
  } catch (e) {
    if ((e as { code?: string }).code === 'not_found') throw json('No customer with this id in your book.', { status: 404 });
    throw e;
  }
}

const form = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('status'), status: z.enum(['active', 'at_risk', 'churned'], { message: 'Choose active, at risk or churned.' }), reason: z.string().trim().max(2000, 'The reason is too long (at most 2000 characters).').optional() }),
  z.object({ intent: z.literal('resync') }),
]);

export async function action({ context, request, params }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  const parsed = form.safeParse(Object.fromEntries(await request.formData()));
  if (!parsed.success) return json({ ok: false, message: parsed.error.issues[0]!.message }, { status: 400 });
  const d = parsed.data;
  try {
    const message = d.intent === 'status' ? await pivotal.customers.changeStatus(member, params.displayId ?? '', d.status, d.reason || null) : await pivotal.customers.resync(member, params.displayId ?? '');
    return json({ ok: true, message });
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

/** What the source's mapped custom fields hold (field mapping), and the customer's tags. */
function CustomFields({ fields, tags }: { fields: Record<string, unknown>; tags: string[] }) {
  const keys = Object.keys(fields).sort();
  return (
    <section className="card" aria-label="Custom fields">
      <h2>Custom fields</h2>
      {keys.length ? (
        <div className="table-scroll">
          <table className="grid compact">
            <tbody>
              {keys.map((k) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>{fieldText(fields[k])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted">None yet. Map source properties to custom fields on a connection's Field mapping page.</p>
      )}
      {tags.length ? <p className="small">Tags: {tags.map((t) => <span key={t} className="pill neutral">{t}</span>)}</p> : null}
    </section>
  );
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/;
function fieldText(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'string') return ISO_DATE.test(v) ? day(v) : v;
  if (Array.isArray(v)) return v.map(fieldText).join(', ');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const day = (iso: string | null) => (iso ? new Date(iso).toLocaleDateString('en-US', { dateStyle: 'medium', timeZone: 'UTC' }) : '—');

export default function CustomerPage() {
  const { member, workspace, customer: c, health, contacts, activity, statuses, status_reason, win_back_at } = useLoaderData<typeof loader>();
  const tz = workspace.timezone;
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  return (
    <SubPage member={member} result={result}>
      <p>
        <a href="/customers">← Customers</a>
      </p>
      <section className="card">
        <h1>
          {c.name} <span className="muted">#{c.display_id}</span> <StatusPill status={c.status} />
        </h1>
        <dl className="kv">
          <dt>Domain</dt>
          <dd>{c.domain ?? '—'}</dd>
          <dt>Owner</dt>
          <dd>{c.owner_email ?? '—'}</dd>
          {status_reason ? (
            <>
              <dt>Status reason</dt>
              <dd>{status_reason}</dd>
            </>
          ) : null}
          {win_back_at ? (
            <>
              <dt>Won back</dt>
              <dd>{day(win_back_at)}</dd>
            </>
          ) : null}
          <dt>Last synced</dt>
          <dd><When at={c.last_synced_at} timezone={tz} /></dd>
          <dt>Source</dt>
          <dd>
            {c.sources.length
              ? c.sources.map((s, i) => (
                  <span key={i}>
                    {i ? ' · ' : ''}
                    {s.url ? <a href={s.url} target="_blank" rel="noreferrer">{`Open in ${s.provider}`}</a> : `${s.provider} ${s.object_type} ${s.external_id}`}
                  </span>
                ))
              : 'Added in Pivotal'}
          </dd>
        </dl>
      </section>
      <div className="columns">
        <section className="card" aria-label="Billing">
          <h2>Billing</h2>
          <dl className="kv">
            <dt>Plan</dt>
            <dd>{c.plan ?? '—'}</dd>
            <dt>MRR</dt>
            <dd>{money(c.mrr)}</dd>
            <dt>Payment</dt>
            <dd><span className={`pill pay-${c.payment_status}`}>{c.payment_status.replace('_', ' ')}</span></dd>
            <dt>Customer since</dt>
            <dd>{day(c.billing_started_at)}</dd>
            <dt>Stripe</dt>
            <dd>{c.stripe_dashboard_url ? <a href={c.stripe_dashboard_url} target="_blank" rel="noreferrer">{c.stripe_customer_id}</a> : 'Not billed through Stripe'}</dd>
          </dl>
        </section>
        <section className="card" aria-label="Health">
          <h2>
            Health <HealthPill score={health.score} bucket={health.bucket} />
          </h2>
          {health.breakdown.length ? (
            <table className="grid compact">
              <tbody>
                {health.breakdown.map((b: any) => (
                  <tr key={b.signal}>
                    <td>
                      {b.label}
                      <div className="muted small">{b.detail}</div>
                    </td>
                    <td className="num">{b.score == null ? '—' : b.score}</td>
                    <td className="num muted small">{b.score == null ? 'missing' : `${b.effective_weight}%`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">Not scored yet; scores are computed nightly at 02:00 and when a signal changes.</p>
          )}
          {health.computed_at ? <p className="muted small">Computed <When at={health.computed_at} timezone={tz} />{c.status === 'churned' ? ' · frozen while churned' : ''}</p> : null}
        </section>
      </div>
      <CustomFields fields={c.custom_fields} tags={c.tags} />
      <section className="card" aria-label="Contacts">
        <h2>Contacts</h2>
        {contacts.length ? (
          <table className="grid">
            <tbody>
              {contacts.map((x, i) => (
                <tr key={i}>
                  <td>
                    {x.name || '—'}
                    {x.is_primary ? <span className="pill test">primary</span> : null}
                  </td>
                  <td>{x.title ?? ''}</td>
                  <td>{x.email ? <a href={`mailto:${x.email}`}>{x.email}</a> : ''}</td>
                  <td className="wide-only">{x.phone ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No contacts.</p>
        )}
      </section>
      {c.status !== 'archived' ? (
        <section className="card" aria-label="Status">
          <h2>Change status</h2>
          <Form method="post">
            <input type="hidden" name="intent" value="status" />
            <fieldset className="plain" disabled={busy}>
              <div className="actions">
                {statuses.map((s) => (
                  <label key={s} className="choice">
                    <input type="radio" name="status" value={s} defaultChecked={s === c.status} /> {s.replace('_', ' ')}
                  </label>
                ))}
              </div>
              <label className="field">
                Reason (kept in the history, sent with the alert)
                <input type="text" name="reason" maxLength={2000} />
              </label>
              <p>
                <button type="submit">Save status</button>
              </p>
            </fieldset>
          </Form>
          <Form method="post">
            <input type="hidden" name="intent" value="resync" />
            <button type="submit" className="secondary" disabled={busy || !c.sources.length}>
              Resync from the source
            </button>
          </Form>
        </section>
      ) : null}
      <section className="card" aria-label="Activity">
        <h2>Activity</h2>
        <p className="small">
          <a href={`/customers/${c.display_id}/history.csv`}>Download the whole history (CSV)</a>
        </p>
        {activity.length ? (
          <div className="table-scroll">
            <table className="grid">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Who</th>
                  <th>What</th>
                  <th>Change</th>
                </tr>
              </thead>
              <tbody>
                {activity.map((a, i) => (
                  <tr key={i}>
                    <td className="small"><When at={a.timestamp} timezone={tz} /></td>
                    <td className="small">{a.actor}</td>
                    <td>{(a.event_type ?? '').replace(/_/g, ' ')}{a.field ? ` · ${a.field}` : ''}</td>
                    <td className="small">{a.old_value ?? '—'} → {a.new_value ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">Nothing yet.</p>
        )}
      </section>
    </SubPage>
  );
}
