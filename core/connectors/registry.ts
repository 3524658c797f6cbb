// Where the engine finds a provider's Connector. Each provider module registers itself
// on import; the engine asks by provider name and never imports a provider directly.
import type { Connector } from './connector.ts';
import type { Provider } from '../models/connection.ts';
import { AppError } from '../errors.ts';

const connectors = new Map<Provider, Connector>();

export function registerConnector(c: Connector): void {
  connectors.set(c.provider, c);
}

export function getConnector(provider: Provider | string): Connector {
  const c = connectors.get(provider as Provider);
  if (!c) throw new AppError('config', `No connector is registered for provider "${provider}"`);
  return c;
}

export function hasConnector(provider: string): boolean {
  return connectors.has(provider as Provider);
}
