import { Nft } from '@berth/nftables-napi';
import { createTestNetns, uniqueName, type TeardownRegistry, type TestNetns } from '../harness/index.js';

/** A "host" of a cluster topology: a network namespace with one address on the shared underlay. */
export interface ClusterHost {
  readonly name: string;
  readonly netns: TestNetns;
  readonly address: string;
  readonly interfaceName: string;
}

const subnetPrefix = '10.77.0.';
const hostInterface = 'bt0';
const partitionTable = 'bt-partition';

/**
 * Hosts in network namespaces joined by a bridge that lives in its own underlay namespace. Everything is created
 * from inside the underlay namespace (`ip link add … peer … netns HOST`), so the root namespace is never touched.
 * Partitions are nft rules inside one host's namespace (nftables-napi bound to that namespace).
 */
export class ClusterTopology {
  readonly hosts: ClusterHost[] = [];
  readonly #underlay: TestNetns;
  readonly #namespaces: TestNetns[] = [];

  private constructor(underlay: TestNetns) {
    this.#underlay = underlay;
    this.#namespaces.push(underlay);
  }

  static async create(registry: TeardownRegistry, hostNames: readonly string[]): Promise<ClusterTopology> {
    if (hostNames.length > 200) throw new RangeError('at most 200 hosts');
    const underlay = await createTestNetns(uniqueName('cl-u', 32));
    const topology = new ClusterTopology(underlay);
    registry.teardown(() => topology.destroy());
    await underlay.execChecked(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await underlay.execChecked(['ip', 'link', 'set', 'br0', 'up']);
    for (const [index, name] of hostNames.entries()) {
      const netns = await createTestNetns(uniqueName(`cl-${name}`, 32));
      topology.#namespaces.push(netns);
      const port = `p${index}`;
      await underlay.execChecked(['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', hostInterface, 'netns', netns.name]);
      await underlay.execChecked(['ip', 'link', 'set', port, 'master', 'br0', 'up']);
      const address = `${subnetPrefix}${11 + index}`;
      await netns.execChecked(['ip', 'addr', 'add', `${address}/24`, 'dev', hostInterface]);
      await netns.execChecked(['ip', 'link', 'set', hostInterface, 'up']);
      topology.hosts.push({ name, netns, address, interfaceName: hostInterface });
    }
    return topology;
  }

  host(name: string): ClusterHost {
    const host = this.hosts.find((h) => h.name === name);
    if (host === undefined) throw new Error(`No host ${name} in the topology`);
    return host;
  }

  /**
   * Cuts the host off from the given peers (default: every other host): inside its namespace, drop packets from
   * and to their addresses. Hosts not named (e.g. a client) still reach it, as in a minority partition.
   */
  partition(host: ClusterHost, from: readonly ClusterHost[] = this.hosts.filter((other) => other !== host)): void {
    if (from.length === 0) throw new RangeError('partition needs at least one peer to cut off');
    const peers = from.map((peer) => peer.address).join(', ');
    const nft = new Nft({ netns: host.netns.path });
    try {
      nft.run([
        `add table inet ${partitionTable}`,
        `add chain inet ${partitionTable} in { type filter hook input priority -300; policy accept; }`,
        `add chain inet ${partitionTable} out { type filter hook output priority -300; policy accept; }`,
        `add rule inet ${partitionTable} in iifname "${host.interfaceName}" ip saddr { ${peers} } drop`,
        `add rule inet ${partitionTable} out oifname "${host.interfaceName}" ip daddr { ${peers} } drop`,
      ].join('\n'));
    } finally {
      nft.close();
    }
  }

  heal(host: ClusterHost): void {
    const nft = new Nft({ netns: host.netns.path });
    try {
      nft.run(`delete table inet ${partitionTable}`);
    } finally {
      nft.close();
    }
  }

  async destroy(): Promise<void> {
    const failures: string[] = [];
    for (const netns of this.#namespaces.splice(0).reverse()) await netns.remove().catch((error: unknown) => failures.push(String(error)));
    if (failures.length > 0) throw new Error(`ClusterTopology teardown: ${failures.join('; ')}`);
  }
}
