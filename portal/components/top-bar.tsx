// The bar at the top of every page (errors included): product, the admin pages, who is signed in, sign out.
const ADMIN_LINKS = [
  ['/', 'Workspace'],
  ['/customers', 'Customers'],
  ['/connections/new', 'Connect'],
  ['/members', 'Members'],
  ['/slack', 'Slack'],
  ['/webhooks', 'Webhooks'],
] as const;

export function TopBar({ member }: { member: { email: string; role: string } | null }) {
  return (
    <header className="top">
      <a className="logo" href="/">
        Pivotal
      </a>
      <span className="muted tagline">Customer success, in Slack</span>
      {member && member.role !== 'member' ? (
        <nav aria-label="Main" className="main-nav">
          {ADMIN_LINKS.map(([href, label]) => (
            <a key={href} href={href}>
              {label}
            </a>
          ))}
        </nav>
      ) : null}
      {member ? (
        <form method="post" action="/logout" className="signout" style={{ marginLeft: 'auto', display: 'flex', gap: '.75rem', alignItems: 'center' }}>
          <span className="muted who">
            {member.email} · {member.role}
          </span>
          <button type="submit" className="secondary">
            Sign out
          </button>
        </form>
      ) : null}
    </header>
  );
}
