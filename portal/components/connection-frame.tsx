// The head of every page about one connection: what it is, the status banner (Connected /
// Reauthorize / Disconnected), its last full sync and last incremental update with the
// staleness warnings, and the tabs to its sync screens and field mapping.
import type { ReactNode } from 'react';
import { When } from './when.tsx';

export interface ConnectionHead {
  id: string;
  label: string;
  provider: string;
  role: string;
  mode: string | null;
  state: string;
  state_reason: string | null;
  last_full_sync_at: string | null;
  last_incremental_at: string | null;
  warnings: string[];
  /** open CRM ambiguous matches (Stripe's are on /billing) */
  ambiguous_open?: number;
}

const STATE_TEXT: Record<string, { title: string; level: string }> = {
  connected: { title: 'Connected', level: 'success' },
  reauthorize: { title: 'Reauthorize', level: 'error' },
  disconnected: { title: 'Disconnected', level: 'neutral' },
};

const TABS = [
  ['', 'Overview'],
  ['/mapping', 'Field mapping'],
  ['/log', 'Integration log'],
  ['/errors', 'Sync errors'],
  ['/ambiguous', 'Ambiguous matches'],
] as const;

export function ConnectionFrame({ c, timezone, tab, openErrors, children }: { c: ConnectionHead; timezone: string; tab: (typeof TABS)[number][0]; openErrors?: number; children?: ReactNode }) {
  const state = STATE_TEXT[c.state] ?? { title: c.state, level: 'neutral' };
  return (
    <>
      <section className="card">
        <h1>
          {c.label}
          {c.role === 'billing_signal' ? <span className="pill neutral">billing signal</span> : null}
          {c.mode === 'test' ? <span className="pill test">test mode</span> : null}
        </h1>
        <div className={`banner ${state.level}`} aria-label="Connection status" data-testid="state-banner">
          <strong>{state.title}</strong>
          {c.state === 'reauthorize' ? ` — ${c.state_reason ?? 'the credentials stopped working'}. Reconnect to resume syncing; nothing is lost.` : null}
          {c.state === 'disconnected' ? ' — not syncing. The field mapping and settings are kept for a reconnect.' : null}
        </div>
        <dl className="facts">
          <div>
            <dt>Last full sync</dt>
            <dd><When at={c.last_full_sync_at} timezone={timezone} /></dd>
          </div>
          <div>
            <dt>Last incremental update</dt>
            <dd><When at={c.last_incremental_at} timezone={timezone} /></dd>
          </div>
        </dl>
        {c.warnings.map((w) => (
          <p key={w} className="banner warning">
            {w}
          </p>
        ))}
        {children}
      </section>
      <nav className="tabs" aria-label="Connection">
        {TABS.filter(([suffix]) => suffix !== '/ambiguous' || c.provider !== 'stripe').map(([suffix, label]) => (
          <a key={suffix} href={`/connections/${c.id}${suffix}`} aria-current={tab === suffix ? 'page' : undefined}>
            {label}
            {suffix === '/errors' && openErrors ? <span className="count">{openErrors}</span> : null}
            {suffix === '/ambiguous' && c.ambiguous_open ? <span className="count">{c.ambiguous_open}</span> : null}
          </a>
        ))}
      </nav>
    </>
  );
}
