// The frame of a signed-in page below the home page: the top bar, a way back, and the
// outcome of the last form post (a status for success, an alert for a refusal).
import { useEffect, type ReactNode } from 'react';
import { useRevalidator } from '@remix-run/react';
import { TopBar } from './top-bar.tsx';

export function SubPage({ member, result, children }: { member: { email: string; role: string }; result?: { ok: boolean; message: string }; children: ReactNode }) {
  // After a change, read the page's data once more: the revalidation that follows an action
  // was seen (rarely) to commit data read before the change landed.
  const revalidator = useRevalidator();
  useEffect(() => {
    if (result?.ok) revalidator.revalidate();
  }, [result]); // once per outcome (the revalidator object changes with its state)
  return (
    <>
      <TopBar member={member} />
      <main>
        <p>
          <a href="/">← Workspace</a>
        </p>
        {result ? (
          <div className={`banner ${result.ok ? 'success' : 'error'}`} role={result.ok ? 'status' : 'alert'}>
            {result.message}
          </div>
        ) : null}
        {children}
      </main>
    </>
  );
}
