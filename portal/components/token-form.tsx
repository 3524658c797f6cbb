// The token form: connect (or reconnect) a provider with a token, with where to get one.
// The token is checked against the provider before anything is saved.
import { Form } from '@remix-run/react';

export interface TokenOption {
  key: string;
  label: string;
  tokenLabel: string;
  tokenPlaceholder: string;
  tokenHelp: string;
  needsInstanceUrl?: boolean;
}

export function TokenForm({ option, action, intent, busy, submitLabel }: { option: TokenOption; action?: string; intent?: string; busy: boolean; submitLabel: string }) {
  return (
    <Form method="post" action={action} className="token-form">
      {intent ? <input type="hidden" name="intent" value={intent} /> : null}
      <label className="field">
        {option.tokenLabel}
        <input type="password" name="token" required autoComplete="off" spellCheck={false} placeholder={option.tokenPlaceholder} aria-describedby={`help-${option.key}`} />
      </label>
      {option.needsInstanceUrl ? (
        <label className="field">
          Instance URL
          <input type="url" name="instance_url" required placeholder="https://yourorg.my.salesforce.com" />
        </label>
      ) : null}
      <p id={`help-${option.key}`} className="muted help">
        <strong>Where to get one:</strong> {option.tokenHelp}
      </p>
      <button type="submit" disabled={busy}>{busy ? 'Checking the token…' : submitLabel}</button>
    </Form>
  );
}
