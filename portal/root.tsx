// The portal's document shell.
import { isRouteErrorResponse, Links, Meta, Outlet, Scripts, ScrollRestoration, useRouteError } from '@remix-run/react';
import type { LinksFunction, MetaFunction } from '@remix-run/node';
import stylesHref from './styles.css';
import { TopBar } from './components/top-bar.tsx';

export const meta: MetaFunction = () => [{ title: 'Pivotal' }, { name: 'viewport', content: 'width=device-width, initial-scale=1' }];
export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: stylesHref },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
];

export function Layout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

/** Not-found and failures: a plain page with a way back, never a stack trace. */
export function ErrorBoundary() {
  const error = useRouteError();
  const known = isRouteErrorResponse(error);
  const title = known && error.status === 404 ? 'Not found' : known && error.status === 403 ? 'Not allowed' : 'Something went wrong';
  return (
    <>
    <TopBar member={null} />
    <main>
      <section className="card">
        <h1>{title}</h1>
        <p>{known && typeof error.data === 'string' && error.status < 500 ? error.data : 'It has been logged. Try again, or go back to your workspace.'}</p>
        <p>
          <a href="/">← Workspace</a>
        </p>
      </section>
    </main>
    </>
  );
}
