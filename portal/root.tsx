// The portal's document shell.
import { isRouteErrorResponse, Links, Meta, Outlet, Scripts, ScrollRestoration, useRouteError, useRouteLoaderData } from '@remix-run/react';
import { json, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import stylesHref from './styles.css';
import { TopBar } from './components/top-bar.tsx';

export const meta: MetaFunction = () => [{ title: 'Pivotal' }, { name: 'viewport', content: 'width=device-width, initial-scale=1' }];
export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: stylesHref },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
];

/** The request's script nonce (the Content-Security-Policy allows only scripts carrying it). */
export function loader({ context }: LoaderFunctionArgs) {
  return json({ cspNonce: (context.cspNonce as string | undefined) ?? '' });
}

export function Layout({ children }: { children: React.ReactNode }) {
  const nonce = useRouteLoaderData<typeof loader>('root')?.cspNonce || undefined;
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

/**
 * Not-found and failures: a plain page with a way back, never a stack trace. Only a
 * message a route threw on purpose is shown; the router's own (internal) texts and
 * anything thrown by the database or a bug are not.
 */
export function ErrorBoundary() {
  const error = useRouteError();
  const routeError = isRouteErrorResponse(error);
  const known = routeError && !(error as { internal?: boolean }).internal;
  const title = routeError && error.status === 404 ? 'Not found' : routeError && error.status === 403 ? 'Not allowed' : 'Something went wrong';
  return (
    <>
    <TopBar member={null} />
    <main>
      <section className="card">
        <h1>{title}</h1>
        <p>
          {known && typeof error.data === 'string' && error.status < 500
            ? error.data
            : routeError && error.status < 500
              ? 'There is nothing to show at this address.'
              : 'It has been logged. Try again, or go back to your workspace.'}
        </p>
        <p>
          <a href="/">← Workspace</a>
        </p>
      </section>
    </main>
    </>
  );
}
