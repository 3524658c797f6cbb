// /connections/:id/mapping: the field mapping editor. Every real property of the source
// (with its type) can feed a Pivotal field, a typed custom field or a tag, or be dropped;
// the match key is locked after the first full sync; a type mismatch is refused with the
// reason; and a live preview shows the mapping applied to five real records before saving.
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useFetcher, useLoaderData } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { ConnectionFrame } from '../components/connection-frame.tsx';
import { expectedError } from '../forms.server.ts';
import { notFoundAs404, requireAdminAction, requireAdminPage } from '../guard.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminPage(pivotal, request);
  try {
    const data = await pivotal.connections.mapping(member.workspaceId, params.id ?? '');
    return json({ member: { email: member.email, role: member.role }, workspace: await pivotal.workspaceFrame(member.workspaceId), ...data });
  } catch (e) {
    notFoundAs404(e);
  }
}

type ActionResult = { ok: boolean; message: string; preview?: { external_id: string; url: string | null; fields: Record<string, string | null> }[] };

export async function action({ context, request, params }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminAction(pivotal, request);
  const form = await request.formData();
  let body: unknown;
  try {
    body = JSON.parse(String(form.get('mapping') ?? ''));
  } catch {
    return json<ActionResult>({ ok: false, message: 'The mapping could not be read; reload the page and try again.' }, { status: 400 });
  }
  try {
    if (form.get('intent') === 'preview') {
      const preview = await pivotal.connections.previewMapping(member.workspaceId, params.id ?? '', body);
      return json<ActionResult>({ ok: true, message: `Preview of ${preview.length} records`, preview });
    }
    const saved = await pivotal.connections.saveMapping(member.workspaceId, params.id ?? '', body);
    return json<ActionResult>({ ok: true, message: `Saved ${saved.mapping.length} mapped properties. The next sync applies them.` });
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    throw e;
  }
}

interface Row {
  id: number;
  kind: 'field' | 'custom' | 'tag';
  target: string;
  key: string;
  type: 'string' | 'number' | 'date' | 'select';
  source: string;
}

let nextRow = 1;
function toRows(entries: { target: string; source: string; type?: string }[]): Row[] {
  return entries.map((e) => {
    const kind = e.target.startsWith('custom:') ? 'custom' : e.target.startsWith('tag:') ? 'tag' : 'field';
    return { id: nextRow++, kind, target: kind === 'field' ? e.target : '', key: kind === 'field' ? '' : e.target.replace(/^(custom|tag):/, ''), type: (kind === 'custom' ? e.type : 'string') as Row['type'], source: e.source };
  });
}
function toEntries(rows: Row[]) {
  return rows.map((r) => (r.kind === 'field' ? { target: r.target, source: r.source } : r.kind === 'tag' ? { target: `tag:${r.key}`, source: r.source } : { target: `custom:${r.key}`, source: r.source, type: r.type }));
}
const targetOf = (r: Row) => (r.kind === 'field' ? r.target : `${r.kind}:${r.key}`);

export default function MappingEditor() {
  const d = useLoaderData<typeof loader>();
  const v = d.view;
  const [rows, setRows] = useState<Row[]>(() => toRows(v.mapping));
  const [matchKey, setMatchKey] = useState(v.match_key);
  const preview = useFetcher<ActionResult>();
  const save = useFetcher<ActionResult>();
  const body = useMemo(() => JSON.stringify({ mapping: toEntries(rows), match_key: matchKey }), [rows, matchKey]);
  // Live preview: re-run on every change, a moment after the admin stops typing.
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => {
    if (!v.properties.length) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => preview.submit({ intent: 'preview', mapping: body }, { method: 'post' }), 400);
    return () => clearTimeout(timer.current);
  }, [body, v.properties.length]); // preview (the fetcher) is stable enough: re-running on it would loop
  const update = (id: number, patch: Partial<Row>) => setRows((rs) => rs.map((r) => (r.id === id ? { ...r, ...patch } : r)));
  const used = new Set(rows.map((r) => r.source));
  const dropped = v.properties.filter((p) => !used.has(p.name)).length;
  const propLabel = (name: string) => v.properties.find((p) => p.name === name);
  const shown = preview.data?.preview;
  return (
    <SubPage member={d.member} result={save.data}>
      <ConnectionFrame c={d.overview} timezone={d.workspace.timezone} tab="/mapping" />
      <section className="card" aria-label="Field mapping">
        <h2>Field mapping</h2>
        <p className="muted">
          Choose what each {d.overview.label} property becomes in Pivotal. Properties you do not map are dropped ({dropped} of {v.properties.length} now).
          {v.is_default ? ' This is the default mapping; saving makes it yours.' : ''}
        </p>
        {v.properties_error ? <p className="banner warning" role="alert">The source's properties could not be listed: {v.properties_error}</p> : null}
        <fieldset className="plain match-key">
          <legend>Match key {v.locked ? <span className="pill neutral">locked after the first full sync</span> : null}</legend>
          <label className="choice"><input type="radio" name="match_key" value="domain" checked={matchKey === 'domain'} disabled={v.locked} onChange={() => setMatchKey('domain')} /> Domain <span className="muted">(matches existing customers)</span></label>
          <label className="choice"><input type="radio" name="match_key" value="external_id" checked={matchKey === 'external_id'} disabled={v.locked} onChange={() => setMatchKey('external_id')} /> The source's record id <span className="muted">(every record is its own customer)</span></label>
        </fieldset>
        <div className="scroll">
          <table className="grid mapping" aria-label="Mapped properties">
            <thead>
              <tr><th>{d.overview.label} property</th><th>Becomes</th><th>Details</th><th><span className="sr-only">Remove</span></th></tr>
            </thead>
            <tbody>
              {rows.map((r, i) => {
                const lockedRow = v.locked && r.kind === 'field' && r.target === 'name';
                return (
                  <tr key={r.id}>
                    <td>
                      <select aria-label={`Source property of row ${i + 1}`} value={r.source} disabled={lockedRow} onChange={(e) => update(r.id, { source: e.target.value })}>
                        {propLabel(r.source) ? null : <option value={r.source}>{r.source}</option>}
                        {v.properties.map((p) => <option key={p.name} value={p.name}>{p.label} ({p.name}) · {p.type}</option>)}
                      </select>
                    </td>
                    <td>
                      <select aria-label={`Target of row ${i + 1}`} value={r.kind === 'field' ? r.target : `:${r.kind}`} disabled={lockedRow} onChange={(e) => {
                        const val = e.target.value;
                        update(r.id, val === ':custom' ? { kind: 'custom', key: r.key || r.source.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '') || 'field', type: 'string' } : val === ':tag' ? { kind: 'tag', key: r.key || r.source } : { kind: 'field', target: val });
                      }}>
                        <optgroup label="Pivotal fields">
                          {d.fields.map((f) => <option key={f.target} value={f.target}>{f.label}</option>)}
                        </optgroup>
                        {v.custom_fields ? <option value=":custom">Custom field…</option> : null}
                        <option value=":tag">Tag…</option>
                      </select>
                    </td>
                    <td>
                      {r.kind === 'custom' ? (
                        <span className="inline">
                          <input type="text" aria-label={`Custom field key of row ${i + 1}`} value={r.key} onChange={(e) => update(r.id, { key: e.target.value })} size={14} />
                          <select aria-label={`Custom field type of row ${i + 1}`} value={r.type} onChange={(e) => update(r.id, { type: e.target.value as Row['type'] })}>
                            {d.customTypes.map((t) => <option key={t} value={t}>{t}</option>)}
                          </select>
                        </span>
                      ) : r.kind === 'tag' ? (
                        <input type="text" aria-label={`Tag of row ${i + 1}`} value={r.key} onChange={(e) => update(r.id, { key: e.target.value })} size={14} />
                      ) : lockedRow ? (
                        <span className="muted">display name source is locked</span>
                      ) : null}
                    </td>
                    <td>
                      <button type="button" className="link" disabled={lockedRow} onClick={() => setRows((rs) => rs.filter((x) => x.id !== r.id))} aria-label={`Drop row ${i + 1}`}>Drop</button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <div className="actions wrap">
          <button type="button" className="secondary" disabled={!v.properties.length} onClick={() => setRows((rs) => [...rs, { id: nextRow++, kind: 'custom', target: '', key: '', type: 'string', source: v.properties.find((p) => !used.has(p.name))?.name ?? v.properties[0]!.name }])}>
            Map another property
          </button>
          <button type="button" disabled={save.state !== 'idle'} onClick={() => save.submit({ intent: 'save', mapping: body }, { method: 'post' })}>
            {save.state !== 'idle' ? 'Saving…' : 'Save mapping'}
          </button>
        </div>
      </section>
      <section className="card" aria-label="Preview" aria-live="polite">
        <h2>Preview on five real records {preview.state !== 'idle' ? <span className="muted small">updating…</span> : null}</h2>
        {preview.data && !preview.data.ok ? <p className="banner error" role="alert">{preview.data.message}</p> : null}
        {shown?.length ? (
          <div className="scroll">
            <table className="grid compact" aria-label="Mapping preview">
              <thead>
                <tr><th>Record</th>{rows.map((r) => <th key={r.id}>{targetOf(r)}</th>)}</tr>
              </thead>
              <tbody>
                {shown.map((p) => (
                  <tr key={p.external_id}>
                    <td>{p.url ? <a href={p.url} target="_blank" rel="noreferrer"><code>{p.external_id}</code></a> : <code>{p.external_id}</code>}</td>
                    {rows.map((r) => <td key={r.id}>{p.fields[targetOf(r)] ?? <span className="muted">—</span>}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : preview.data?.ok ? (
          <p className="empty">The source has no records yet, so there is nothing to preview.</p>
        ) : !preview.data ? (
          <p className="muted">The preview appears here: your mapping applied to five records of the source, before anything is saved.</p>
        ) : null}
      </section>
    </SubPage>
  );
}
