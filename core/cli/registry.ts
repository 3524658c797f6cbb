// Command groups beyond the core ones register here (connectors, sync, admin).
import type { Command } from 'commander';

export const extraRegistrations: ((program: Command) => void)[] = [];
export function addCommands(register: (program: Command) => void): void {
  extraRegistrations.push(register);
}
