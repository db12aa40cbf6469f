/**
 * berthd's CNI service: serves the calls the native shim (cni/bin/berth-*) forwards over the local API socket, with
 * the same plugin objects the executables run, in this process (see @berth/cni's agent/). It runs whether or not the
 * host is in a cluster.
 */
import {
  CniServer, createBerthBridge, markServedPhase, createBerthHostDevice, createBerthIpam, createBerthMacvlan, createBerthNone,
  createBerthPortmap, createBerthVxlan, type CniPlugin, type Logger,
} from '@berth/cni';
import { createFirewallPlugin, type RegistryFor } from '@berth/firewall';

/** Every plugin the shim can forward, by executable name; in a cluster berth-firewall registers through berthd's registry. */
export function servedPlugins(options: { firewallRegistry?: RegistryFor } = {}): Map<string, CniPlugin> {
  const plugins = [
    createBerthBridge({ onPhase: markServedPhase }), createBerthIpam(), createBerthNone(), createBerthHostDevice(),
    createBerthPortmap(), createBerthMacvlan(), createBerthVxlan(),
    createFirewallPlugin(options.firewallRegistry === undefined ? {} : { registry: options.firewallRegistry }),
  ];
  return new Map(plugins.map((plugin) => [plugin.name, plugin]));
}

/** What a served call sees besides its CNI_* variables: this berthd's state root, and failpoints for crash tests. */
export function servedEnv(root: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const failpoints = env['BERTH_FAILPOINTS'];
  return { BERTH_ROOT: root, ...(failpoints === undefined || failpoints === '' ? {} : { BERTH_FAILPOINTS: failpoints }) };
}

/** The CNI service for the local API server (its handleUpgrade takes the shim's HTTP upgrades). */
export function createCniService(root: string, logger: Logger, options: { firewallRegistry?: RegistryFor } = {}): CniServer {
  return new CniServer({
    plugins: servedPlugins(options), env: servedEnv(root, process.env), logger, timing: process.env['BERTH_TIMING'] === '1',
  });
}
