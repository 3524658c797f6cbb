// The bar at the top of every signed-in page: product, tagline, who is signed in, sign out.
export function TopBar({ member }: { member: { email: string; role: string } | null }) {
  return (
    <header className="top">
      <a className="logo" href="/">
        Pivotal
      </a>
      <span className="muted">Customer success, in Slack</span>
      {member ? (
        <form method="post" action="/logout" className="signout" style={{ marginLeft: 'auto', display: 'flex', gap: '.75rem', alignItems: 'center' }}>
          <span className="muted">
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
