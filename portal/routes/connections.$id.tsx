// /connections/:id: one connection of any provider — status banner, last full sync and last
// incremental update with staleness warnings, Run sync now, disconnect / reconnect, the
// sync lifecycle (Validate → Preview → Full sync, live progress) and the settings. Stripe
// connections add their billing settings. Members see the page read-only.
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { useEffect } from 'react';
import { Form, useActionData, useLoaderData, useNavigation, useRevalidator } from '@remix-run/react';
import type { PortalContext } from '../context.server.ts';
import { SubPage } from '../components/sub-page.tsx';
import { ConnectionFrame } from '../components/connection-frame.tsx';
import { CheckResult, CrmSettings, SyncProgress } from '../components/crm-sync.tsx';
import { StripeSections } from '../components/stripe-settings.tsx';
import { TokenForm } from '../components/token-form.tsx';
import { expectedError } from '../forms.server.ts';
import { isAdmin, notFoundAs404, requireAdminAction, requireMember } from '../guard.server.ts';

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireMember(pivotal, request);
  try {
    const page = await pivotal.connections.page(member.workspaceId, params.id ?? '');
    const stripe = page.overview.provider === 'stripe' ? await pivotal.stripeSettingsView(member.workspaceId, page.overview.id, member) : null;
    const option = pivotal.connections.options().find((o) => o.provider === page.overview.provider && o.role === page.overview.role) ?? null;
    return json({ member: { email: member.email, role: member.role }, canEdit: isAdmin(member.role), workspace: await pivotal.workspaceFrame(member.workspaceId), ...page, stripe, option });
  } catch (e) {
    notFoundAs404(e);
  }
}

export async function action({ context, request, params }: ActionFunctionArgs) {
  const pivotal = context.pivotal as PortalContext;
  const member = await requireAdminAction(pivotal, request);
  const id = params.id ?? '';
  const ws = member.workspaceId;
  try {
    const form = await request.formData();
    const intent = String(form.get('intent') ?? '');
    const page = await pivotal.connections.page(ws, id);
    const stripe = page.overview.provider === 'stripe';
    if (intent === 'validate' || intent === 'preview' || intent === 'full' || intent === 'sync') {
      const kind = intent === 'sync' ? (stripe ? 'full' : 'incremental') : intent;
      const message = stripe && kind !== 'incremental' ? (await pivotal.queueStripeRun(ws, id, kind)).message : await pivotal.connections.run(ws, id, kind);
      return json({ ok: true as const, message });
    }
    if (intent === 'disconnect') {
      await pivotal.connections.disconnect(ws, id);
      return json({ ok: true as const, message: 'Disconnected. Syncing has stopped; the field mapping and settings are kept for a reconnect.' });
    }
    if (intent === 'reconnect') {
      await pivotal.connections.reconnectWithToken(ws, id, { token: String(form.get('token') ?? ''), instanceUrl: (form.get('instance_url') as string | null) || undefined });
      return json({ ok: true as const, message: 'Reconnected: the token works and syncing resumes.' });
    }
    if (intent === 'settings') {
      await pivotal.connections.saveSettings(ws, id, form);
      return json({ ok: true as const, message: 'Saved. The next sync uses the new settings.' });
    }
    // Stripe's own settings form has no intent.
    if (!stripe) return json({ ok: false as const, message: 'Unknown action.' }, { status: 400 });
    const r = await pivotal.saveStripeSettingsForm(ws, id, form);
    const message = !r.changed.length ? 'Nothing changed.' : r.resynced.length ? `Saved. Billing is being recomputed with the new settings (full sync queued${r.resynced.length > 1 ? ` for ${r.resynced.length} Stripe connections` : ''}).` : 'Saved.';
    return json({ ok: true as const, message });
  } catch (e) {
    const answer = expectedError(e);
    if (answer) return answer;
    if ((e as { code?: string }).code === 'unavailable') return json({ ok: false as const, message: (e as Error).message }, { status: 503 });
    throw e;
  }
}

export default function ConnectionPage() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== 'idle';
  const c = d.overview;
  const tz = d.workspace.timezone;
  // While a run is going, the progress bar and counts refresh by themselves (no reload).
  const revalidator = useRevalidator();
  const active = (s?: string | null) => s === 'running' || s === 'queued' || s === 'paused';
  const working = !!c.running || active(d.last_sync?.status) || active(d.check?.status) || active(d.stripe?.last_run?.status) || active(d.stripe?.last_check?.status) || (!!result?.ok && /queued/.test(result.message));
  useEffect(() => {
    if (!working) return;
    const t = setInterval(() => revalidator.state === 'idle' && revalidator.revalidate(), 1500);
    return () => clearInterval(t);
  }, [working, revalidator]);
  const connected = c.state === 'connected';
  return (
    <SubPage member={d.member} result={result}>
      <ConnectionFrame c={c} timezone={tz} tab="" openErrors={d.open_errors}>
        {d.canEdit ? (
          <div className="actions wrap">
            {connected ? (
              <>
                <Form method="post">
                  <button type="submit" name="intent" value="sync" disabled={busy}>Run sync now</button>
                </Form>
                <Form method="post" onSubmit={(e) => !confirm('Disconnect? Syncing stops; the field mapping and settings are kept.') && e.preventDefault()}>
                  <button type="submit" name="intent" value="disconnect" className="danger" disabled={busy}>Disconnect</button>
                </Form>
              </>
            ) : null}
          </div>
        ) : (
          <p className="muted">Only workspace owners and admins can run syncs or change settings.</p>
        )}
      </ConnectionFrame>

      {!connected && d.canEdit && d.option ? (
        <section className="card" aria-label="Reconnect">
          <h2>Reconnect {c.label}</h2>
          <p className="muted">Same connection: its field mapping, settings and links are kept{c.state === 'reauthorize' ? ', and the sync resumes where it stopped' : ''}.</p>
          {d.option.oauth ? (
            <p>
              <a className="button" href={d.option.oauthPath}>Reconnect with {d.option.label.split(' (')[0]}</a> or paste a token:
            </p>
          ) : null}
          <TokenForm option={d.option} intent="reconnect" busy={busy} submitLabel="Check the token and reconnect" />
        </section>
      ) : null}

      {d.stripe ? (
        <StripeSections canEdit={d.canEdit && connected} s={d.stripe} busy={busy} timezone={tz} />
      ) : (
        <>
          <section className="card" aria-label="Check before syncing">
            <h2>1. Validate and preview</h2>
            <p className="muted">Validate reads the source without writing and lists the records that cannot be matched. Preview really syncs the first 10 records and shows what each became.</p>
            <CheckResult check={d.check} connectionId={c.id} timezone={tz} />
            {d.canEdit && connected ? (
              <Form method="post" className="actions">
                <button type="submit" name="intent" value="validate" className="secondary" disabled={busy}>Validate</button>
                <button type="submit" name="intent" value="preview" className="secondary" disabled={busy}>Preview 10 records</button>
              </Form>
            ) : null}
          </section>
          <section className="card" aria-label="Full sync">
            <h2>2. Full sync</h2>
            <SyncProgress run={d.last_sync} timezone={tz} />
            {d.canEdit && connected ? (
              <Form method="post">
                <button type="submit" name="intent" value="full" disabled={busy}>Run full sync</button>
              </Form>
            ) : null}
          </section>
          <CrmSettings settings={c.settings} choices={d.filter_choices} canEdit={d.canEdit && connected} busy={busy} provider={c.provider} />
        </>
      )}
    </SubPage>
  );
}
