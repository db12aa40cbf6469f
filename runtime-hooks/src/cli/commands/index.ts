import type { Command } from 'commander';
import { registerPolicyCommands } from './policy.js';
import { registerClusterCommands } from './cluster.js';
import { registerNetworkCommands } from './network.js';
import { registerContainerCommands } from './containers.js';
import { registerHooksCommands } from './hooks.js';
import { registerSecretCommands } from './secret.js';
import { registerClusterKeyCommands } from './cluster-keys.js';
import { registerVersionCommand } from './version.js';

/** Each subsystem's subcommands register here, one module per command group. */
export function registerCommands(_program: Command): void {
  registerPolicyCommands(_program);
  registerClusterCommands(_program);
  registerNetworkCommands(_program);
  registerContainerCommands(_program);
  registerHooksCommands(_program);
  registerSecretCommands(_program);
  registerClusterKeyCommands(_program);
  registerVersionCommand(_program);
}
