// Small pieces the customer pages share: money, status and health pills.
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
export const money = (cents: number | null | undefined) => (cents == null ? '—' : usd.format(cents / 100));

const STATUS_LABELS: Record<string, string> = { active: 'Active', at_risk: 'At risk', churned: 'Churned', archived: 'Archived' };
export function StatusPill({ status }: { status: string }) {
  return <span className={`pill status-${status}`}>{STATUS_LABELS[status] ?? status}</span>;
}

const BUCKET_LABELS: Record<string, string> = { healthy: 'Healthy', watch: 'Watch', at_risk: 'At risk' };
export function HealthPill({ score, bucket }: { score: number | null; bucket: string | null }) {
  if (score == null) return <span className="pill health-none">Not scored</span>;
  return (
    <span className={`pill health-${bucket ?? 'none'}`}>
      {score} · {BUCKET_LABELS[bucket ?? ''] ?? bucket}
    </span>
  );
}
