import type { CniEnvironment } from '../../spec/env.js';

/**
 * Points in the interface plugins' ADD where a crash test can have the process die (SIGKILL to itself, exactly what
 * an external `kill -9` at that instant does), enabled only by naming them in `BERTH_FAILPOINTS`. The in-process
 * berth-ipam reads the same variable for its own points.
 */
export const PLUGIN_FAILPOINTS = [
  'bridge-after-bridge', 'bridge-after-veth', 'bridge-after-ipam', 'bridge-after-container', 'bridge-after-gateway',
  'bridge-after-nat', 'bridge-after-macspoof', 'portmap-after-nat', 'host-device-after-move',
  'macvlan-after-link', 'macvlan-after-ipam', 'macvlan-after-container',
  'vxlan-after-overlay', 'vxlan-after-ipam', 'vxlan-after-veth', 'vxlan-after-container', 'vxlan-after-nat',
] as const;
export type PluginFailpoint = (typeof PLUGIN_FAILPOINTS)[number];

export function failpoint(env: CniEnvironment, name: PluginFailpoint): void {
  const listed = env['BERTH_FAILPOINTS'];
  if (listed === undefined || listed === '') return;
  if (listed.split(',').some((entry) => entry.trim() === name)) process.kill(process.pid, 'SIGKILL');
}
