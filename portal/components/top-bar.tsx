// The bar at the top of every signed-in page: product, tagline, who is signed in.
export function TopBar({ member }: { member: { email: string; role: string } | null }) {
  return (
    <header className="top">
      <a className="logo" href="/">
        Pivotal
      </a>
      <span className="muted">Customer success, in Slack</span>
      {member ? (
        <span className="muted" style={{ marginLeft: 'auto' }}>
          {member.email} · {member.role}
        </span>
      ) : null}
    </header>
  );
}
