// Bulk API 2.0 queries for big books: jsforce opens the query job and polls it, and this
// module reads the CSV results one Sforce-Locator page at a time. jsforce 3.10.x's own
// `bulk2.query()` pipes every locator page into one CSV stream that the first page ends
// (ERR_STREAM_WRITE_AFTER_END, upstream jsforce issues 1546 and 1693, unfixed up to
// 3.10.26) and feeds an error body on the results call to its CSV parser. Here each page
// is its own authenticated request through jsforce's HttpApi (so an expired session is
// refreshed and retried by jsforce), read as text, checked, then parsed; a page is one
// engine page, so the engine checkpoints between them and a crash resumes at the locator.
import type { Connection } from 'jsforce';
import { parse } from 'csv-parse/sync';
import { call, SALESFORCE_API_VERSION } from './client.ts';
import { ConnectorError } from '../connector.ts';

/** How long a query job may take to finish before the engine retries the page (a new job). */
const JOB_DEADLINE_MS = 15 * 60_000;
/** jsforce's own default between job status checks. */
const POLL_INTERVAL_MS = 1000;

/** Opens a Bulk 2.0 query job and waits until Salesforce has its results; returns the job id. */
export async function runQueryJob(conn: Connection, soql: string): Promise<string> {
  const { QueryJobV2 } = await import('jsforce/lib/api/bulk2.js');
  const job = new QueryJobV2(conn, { bodyParams: { operation: 'query', query: soql }, pollingOptions: { pollInterval: POLL_INTERVAL_MS, pollTimeout: JOB_DEADLINE_MS } });
  // QueryJobV2 re-emits every failure as 'error'; without a listener that would throw.
  job.on('error', () => {});
  await call(conn, 'the Bulk API query job', () => job.open());
  try {
    await call(conn, 'the Bulk API query job', () => job.poll(), JOB_DEADLINE_MS + 60_000);
  } catch (e) {
    if (e instanceof ConnectorError && /failed to complete|aborted/i.test(e.message)) throw new ConnectorError('permanent', `Salesforce could not run the Bulk API query: ${e.message}`, { providerResponse: e.providerResponse });
    if (e instanceof ConnectorError && e.code === 'permanent' && /timed out/i.test(e.message)) throw new ConnectorError('temporary', e.message);
    throw e;
  }
  return job.id;
}

export interface ResultsPage {
  rows: Record<string, string>[];
  /** the next Sforce-Locator, or null after the last page */
  locator: string | null;
}

/** One page of a finished query job's results. */
export async function queryJobResults(conn: Connection, jobId: string, locator: string | null, maxRecords: number): Promise<ResultsPage> {
  const url = new URL(`/services/data/v${SALESFORCE_API_VERSION}/jobs/query/${encodeURIComponent(jobId)}/results`, conn.instanceUrl);
  url.searchParams.set('maxRecords', String(maxRecords));
  if (locator) url.searchParams.set('locator', locator);
  let next: string | null = null;
  let contentType = '';
  // text/plain keeps jsforce from parsing the body: an error page must not reach a CSV parser.
  const { HttpApi } = await import('jsforce/lib/http-api.js');
  const api = new HttpApi(conn, { responseType: 'text/plain' });
  api.on('response', (res: { headers?: Record<string, string> }) => {
    next = res.headers?.['sforce-locator'] ?? null;
    contentType = res.headers?.['content-type'] ?? '';
  });
  const body = await call(conn, 'a Bulk API results page', () => api.request<string>({ method: 'GET', url: url.toString(), headers: { Accept: 'text/csv' } }));
  if (!/^text\/csv/.test(contentType)) throw new ConnectorError('temporary', `Salesforce answered the Bulk API results call with ${contentType || 'no content type'} instead of CSV`);
  const text = typeof body === 'string' ? body : String(body ?? '');
  const rows = text.trim() === '' ? [] : (parse(text, { columns: true, skip_empty_lines: true, relax_column_count: false }) as Record<string, string>[]);
  return { rows, locator: next && next !== 'null' ? next : null };
}
