/** The `berth-firewall` executable (bundled into cni/dist/bundle/berth-firewall.cjs, run via cni/bin/berth-firewall). */
import { main } from '@berth/cni';
import { createFirewallPlugin } from './plugin.js';
import { execRegistryFor } from './registry.js';

main(createFirewallPlugin({ registry: execRegistryFor() }));
