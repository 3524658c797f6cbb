// The bar at the top of every page (errors included): product, the admin pages, who is signed in.
const ADMIN_LINKS = [
  ['/', 'Workspace'],
  ['/connections/new', 'Connect'],
  ['/members', 'Members'],
  ['/slack', 'Slack'],
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
        <span className="muted who">
          {member.email} · {member.role}
        </span>
      ) : null}
    </header>
  );
}
