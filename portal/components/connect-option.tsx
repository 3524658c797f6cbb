// One way to connect a provider: what it does, OAuth when this instance has the provider's
// app configured, and always the token form with where to get a token.
import { TokenForm, type TokenOption } from './token-form.tsx';

export interface ConnectOptionView extends TokenOption {
  summary: string;
  oauth: boolean;
  oauthPath: string;
  oauthVariables: string[];
}

export function ConnectOptionCard({ o, busy, headingLevel = 2 }: { o: ConnectOptionView; busy: boolean; headingLevel?: 2 | 3 }) {
  const H = headingLevel === 2 ? 'h2' : 'h3';
  return (
    <section className="card" aria-label={o.label} id={o.key}>
      <H>{o.label}</H>
      <p className="muted">{o.summary}</p>
      {o.oauth ? (
        <p>
          <a className="button" href={o.oauthPath}>Connect with {o.label.split(' (')[0]}</a> <span className="muted">or use a token:</span>
        </p>
      ) : null}
      <details open={!o.oauth}>
        <summary>Connect with a token</summary>
        <TokenForm option={o} action="/connections/new" intent={`connect:${o.key}`} busy={busy} submitLabel={`Check the token and connect ${o.label.split(' (')[0]}`} />
      </details>
    </section>
  );
}
