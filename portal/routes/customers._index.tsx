// /customers: the book, searched like /pivotal and filtered by status, owner, plan, payment
// status and health bucket; sorted on indexes and paged by position (Next/Previous links carry
// the row to continue from, core/customers/list.ts). Members see the customers they own.
import { json, redirect, type LoaderFunctionArgs } from '@remix-run/node';
import { Form, useLoaderData } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { signedInMember } from '../session.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { money, HealthPill, StatusPill } from '../components/customer-bits.tsx';

export async function loader({ context, request }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await signedInMember(pivotal, request);
  if (!member) throw redirect('/');
  const search = new URL(request.url).searchParams;
  let params;
  try {
    params = pivotal.customers.parseListParams(search);
  } catch (e) {
    throw json((e as Error).message, { status: 400 });
  }
  const page = await pivotal.customers.listPage(member, params);
  return json({ member: { email: member.email, role: member.role }, page, query: search.toString() });
}

const STATUSES = [['', 'Active and at risk'], ['active', 'Active'], ['at_risk', 'At risk'], ['churned', 'Churned'], ['archived', 'Archived'], ['all', 'All']];
const PAYMENTS = [['', 'Any payment'], ['paid', 'Paid'], ['past_due', 'Past due'], ['failing', 'Failing'], ['none', 'No invoices']];
const BUCKETS = [['', 'Any health'], ['healthy', 'Healthy'], ['watch', 'Watch'], ['at_risk', 'At risk'], ['none', 'Not scored']];
const SORTS = [['name', 'Name'], ['-mrr', 'MRR, highest first'], ['mrr', 'MRR, lowest first'], ['health', 'Health, lowest first'], ['-health', 'Health, highest first'], ['id', 'Id'], ['-updated', 'Recently updated']];

function pageHref(query: string, cursor: { after?: string; before?: string }, page: number) {
  const q = new URLSearchParams(query);
  for (const k of ['page', 'after', 'before']) q.delete(k);
  if (cursor.after) q.set('after', cursor.after);
  if (cursor.before) q.set('before', cursor.before);
  if (page > 1) q.set('page', String(page));
  return `/customers?${q.toString()}`;
}

export default function Customers() {
  const { member, page, query } = useLoaderData<typeof loader>();
  const p = page.params;
  const exportQuery = new URLSearchParams(query);
  for (const k of ['page', 'after', 'before']) exportQuery.delete(k);
  const select = (name: string, options: string[][], value: string | undefined, label: string) => (
    <label className="filter">
      <span className="sr-only">{label}</span>
      <select name={name} defaultValue={value ?? ''} aria-label={label}>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <SubPage member={member}>
      <section className="card">
        <h1>Customers</h1>
        <Form method="get" className="filters" role="search">
          <input type="search" name="q" defaultValue={p.q ?? ''} placeholder="Name, domain, contact email or #id" aria-label="Search customers" />
          {select('status', STATUSES, p.status, 'Status')}
          {member.role !== 'member'
            ? select('owner', [['', 'Any owner'], ...page.owners.map((o) => [o, o])], p.owner, 'Owner')
            : null}
          {page.plans.length ? select('plan', [['', 'Any plan'], ...page.plans.map((o) => [o, o])], p.plan, 'Plan') : <input type="text" name="plan" defaultValue={p.plan ?? ''} placeholder="Plan" aria-label="Plan" />}
          {select('payment', PAYMENTS, p.payment, 'Payment status')}
          {select('bucket', BUCKETS, p.bucket, 'Health')}
          {select('sort', SORTS, p.sort, 'Sort by')}
          <button type="submit">Show</button>
        </Form>
        <p className="muted small">
          Export these customers: <a href={`/customers/export.csv?${exportQuery}`}>CSV</a> · <a href={`/customers/export.json?${exportQuery}`}>JSON</a>
          {member.role === 'member' ? ' · you see the customers you own' : ''}
        </p>
      </section>
      <section className="card">
        {page.rows.length === 0 ? (
          <p>{p.q ? `No customer matches "${p.q}".` : 'No customers match these filters.'}</p>
        ) : (
          <div className="table-scroll">
            <table className="grid customers">
              <thead>
                <tr>
                  <th>Customer</th>
                  <th>Status</th>
                  <th>Health</th>
                  <th className="wide-only">Plan</th>
                  <th className="num">MRR</th>
                  <th>Payment</th>
                  <th className="wide-only">Owner</th>
                </tr>
              </thead>
              <tbody>
                {page.rows.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <a href={`/customers/${c.display_id}`}>{c.name}</a>
                      <div className="muted small">
                        #{c.display_id}
                        {c.domain ? ` · ${c.domain}` : ''}
                      </div>
                    </td>
                    <td><StatusPill status={c.status} /></td>
                    <td><HealthPill score={c.health_score} bucket={c.health_bucket} /></td>
                    <td className="wide-only">{c.plan ?? '—'}</td>
                    <td className="num">{money(c.mrr)}</td>
                    <td><span className={`pill pay-${c.payment_status}`}>{c.payment_status.replace('_', ' ')}</span></td>
                    <td className="wide-only">{c.owner_email ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {page.partial ? <p className="muted small">Few customers match these filters: this page shows the matches among the next few thousand customers; Next looks further.</p> : null}
        <nav className="pager" aria-label="Pages">
          {page.prev ? <a href={pageHref(query, { before: page.prev }, page.page - 1)}>← Previous</a> : <span />}
          <span className="muted">Page {page.page}</span>
          {page.next ? <a href={pageHref(query, { after: page.next }, page.page + 1)}>Next →</a> : <span />}
        </nav>
      </section>
    </SubPage>
  );
}
