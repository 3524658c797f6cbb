// Dates as people read them, always in the workspace's timezone and saying which, so the
// server's render and the browser's agree.
export function formatWhen(iso: string | Date | null | undefined, timezone: string): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'never';
  return d.toLocaleString('en-GB', { timeZone: timezone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
}

export function When({ at, timezone }: { at: string | Date | null | undefined; timezone: string }) {
  return at ? <time dateTime={new Date(at).toISOString()}>{formatWhen(at, timezone)}</time> : <span className="muted">never</span>;
}
