// Where the engine finds a provider's Connector. Nothing registers itself on import: the
// composition root (core/app/composition.ts) installs every connector once at process
// start, and the engine asks by provider name without importing any provider.
import type { Connector } from './connector.ts';
import type { Provider } from '../models/connection.ts';
import { AppError } from '../errors.ts';

let installed: Readonly<Record<Provider, Connector>> | null = null;

/** Called by the composition root's compose(); the one way connectors become known. */
export function installConnectors(connectors: Record<Provider, Connector>): void {
  installed = connectors;
}

export function getConnector(provider: Provider | string): Connector {
  if (!installed) throw new AppError('config', 'No connectors are installed: the process must start through compose() (core/app/composition.ts)');
  const c = (installed as Record<string, Connector | undefined>)[provider];
  if (!c) throw new AppError('config', `No connector exists for provider "${provider}"`);
  return c;
}

export function hasConnector(provider: string): boolean {
  return !!installed && Object.hasOwn(installed, provider);
}
