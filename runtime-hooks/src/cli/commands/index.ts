import type { Command } from 'commander';

/** Each subsystem's subcommands register here, one module per command group. */
export function registerCommands(_program: Command): void {
}
