/**
 * A simulated multi-host overlay: one "underlay" namespace with a bridge (the LAN, 10.123.0.254/24 on it), up to
 * three "host" namespaces joined to it by veths (10.123.0.N), and "containers" attached by berth-vxlan running
 * in-process per host through the CNI skeleton, with the host namespace as its host. Peers come from the conflist
 * (static) or from a MemoryPeerSource with an OverlayController per host, as the agent will feed them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryPeerSource, OverlayController, createBerthVxlan, defaultBridgeName, defaultDeviceName, parseCidr, parseIp, runPlugin,
  type CniPlugin, type JsonObject, type OverlayNetwork, type OverlayPeer,
} from '@berth/cni';
import { TestHost, type TeardownRegistry, type TestNetns } from '../harness/index.js';

export const clusterHostsMax = 3;
export const containersPerHostMax = 2;
export const underlayOutsideAddress = '10.123.0.254';
export const overlayRange = '10.244.0.0/16';
export const overlayNetworkName = 'bt-overlay';

export interface OverlayClusterOptions {
  readonly hosts: number;
  readonly vni?: number;
  readonly port?: number;
  readonly directRouting?: boolean;
  readonly underlayMtu?: number;
  readonly ipMasq?: boolean;
  /** "static": peers in the conflist; "agent": one MemoryPeerSource and a controller per host. Default static. */
  readonly peers?: 'static' | 'agent';
}

export interface ClusterHost {
  readonly index: number;
  readonly netns: TestNetns;
  /** Underlay (VTEP) address. */
  readonly address: string;
  readonly subnet: string;
  readonly plugin: CniPlugin;
  readonly dataDir: string;
  readonly containers: ClusterContainer[];
}

export interface ClusterContainer {
  readonly id: string;
  readonly netns: TestNetns;
  readonly host: ClusterHost;
  /** The container's overlay address, without prefix. */
  readonly address: string;
  readonly result: JsonObject;
}

/** A plugin call failed: the CNI error it printed. */
export class ClusterCallError extends Error {
  readonly output: JsonObject | undefined;
  constructor(what: string, output: JsonObject | undefined, stdout: string) {
    super(`${what} failed: ${stdout.trim()}`);
    this.name = 'ClusterCallError';
    this.output = output;
  }
}

export class OverlayCluster {
  readonly underlay: TestHost;
  readonly hosts: readonly ClusterHost[];
  readonly options: OverlayClusterOptions;
  readonly network: OverlayNetwork;
  readonly source: MemoryPeerSource | undefined;
  readonly #controllers: OverlayController[] = [];
  #peerIndexes: readonly number[];

  private constructor(underlay: TestHost, hosts: ClusterHost[], options: OverlayClusterOptions, source: MemoryPeerSource | undefined) {
    this.underlay = underlay;
    this.hosts = hosts;
    this.options = options;
    this.source = source;
    const vni = options.vni ?? 4242;
    this.network = {
      name: overlayNetworkName, vni, port: options.port ?? 4789, cidr: parseCidr(overlayRange), device: defaultDeviceName(vni),
      bridge: defaultBridgeName(vni), directRouting: options.directRouting ?? false, mtu: undefined,
    };
    this.#peerIndexes = hosts.map((host) => host.index);
  }

  static async create(registry: TeardownRegistry, options: OverlayClusterOptions): Promise<OverlayCluster> {
    if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > clusterHostsMax) {
      throw new RangeError(`OverlayCluster: hosts must be 1-${clusterHostsMax}, got ${options.hosts}`);
    }
    const mtu = options.underlayMtu ?? 1500;
    const underlay = await TestHost.create(registry, 'ovu');
    await underlay.execChecked(['sh', '-c', `ip link add br0 type bridge && ip link set br0 mtu ${mtu} up && ip addr add ${underlayOutsideAddress}/24 dev br0`]);
    const work = await mkdtemp(join(tmpdir(), 'bt-overlay-'));
    registry.teardown(() => rm(work, { recursive: true, force: true }));
    const source = options.peers === 'agent' ? new MemoryPeerSource() : undefined;
    const hosts: ClusterHost[] = [];
    for (let index = 0; index < options.hosts; index += 1) {
      const netns = await underlay.addNetns('ovh');
      const address = `10.123.0.${index + 1}`;
      await underlay.execChecked(['sh', '-c', `ip link add ul${index} mtu ${mtu} type veth peer name eth0 netns ${netns.path} && ip link set ul${index} master br0 up`]);
      await netns.execChecked(['sh', '-c', `ip link set eth0 mtu ${mtu} up && ip addr add ${address}/24 dev eth0 && ip route add default via ${underlayOutsideAddress}`]);
      const dataDir = join(work, `ipam-${index}`);
      const plugin = createBerthVxlan({
        hostNetns: netns.path, natLockPath: join(work, 'nat.lock'), ...(source === undefined ? {} : { peerSource: () => source }),
      });
      hosts.push({ index, netns, address, subnet: `10.244.${index + 1}.0/24`, plugin, dataDir, containers: [] });
    }
    const cluster = new OverlayCluster(underlay, hosts, options, source);
    registry.teardown(() => cluster.stopControllers());
    if (source !== undefined) await cluster.#startControllers();
    return cluster;
  }

  /** The peers the network has now (hosts by index). */
  get peerIndexes(): readonly number[] {
    return this.#peerIndexes;
  }

  peersOf(indexes: readonly number[]): OverlayPeer[] {
    return indexes.map((index) => {
      const host = this.#host(index);
      return { address: parseIp(host.address), subnet: parseCidr(host.subnet), name: `host${index + 1}` };
    });
  }

  /** The plugin configuration as `host` gets it: its own IPAM directory; static peers when not agent-fed. */
  conf(host: ClusterHost, extra: Record<string, unknown> = {}): JsonObject {
    const peers = this.source === undefined
      ? this.#peerIndexes.map((index) => ({ address: this.#host(index).address, subnet: this.#host(index).subnet }))
      : undefined;
    return {
      cniVersion: '1.1.0', name: overlayNetworkName, type: 'berth-vxlan', vni: this.network.vni, port: this.network.port,
      subnet: overlayRange, directRouting: this.network.directRouting, ipMasq: this.options.ipMasq ?? true,
      ...(peers === undefined ? {} : { peers }),
      ipam: { type: 'berth-ipam', dataDir: host.dataDir },
      ...extra,
    };
  }

  /** Runs one CNI command of `host`'s plugin through the skeleton; a failure throws ClusterCallError. */
  async call(host: ClusterHost, env: Record<string, string>, config: JsonObject): Promise<JsonObject | undefined> {
    let stdout = '';
    const code = await runPlugin(host.plugin, {
      env: { CNI_PATH: '/nonexistent', ...env }, readStdin: async () => JSON.stringify(config), writeStdout: (text) => { stdout += text; },
    });
    const output = stdout.trim() === '' ? undefined : JSON.parse(stdout) as JsonObject;
    if (code !== 0) throw new ClusterCallError(`${host.plugin.name} ${env['CNI_COMMAND'] ?? ''} on host${host.index + 1}`, output, stdout);
    return output;
  }

  async addContainer(hostIndex: number, id: string): Promise<ClusterContainer> {
    const host = this.#host(hostIndex);
    if (host.containers.length >= containersPerHostMax) throw new RangeError(`host${hostIndex + 1} already has ${containersPerHostMax} containers`);
    const netns = await this.underlay.addNetns('ovc');
    const result = await this.call(host, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: netns.path, CNI_IFNAME: 'eth0' }, this.conf(host));
    const ips = result?.['ips'] as { address: string }[] | undefined;
    const address = ips?.[0]?.address.split('/')[0];
    if (result === undefined || address === undefined) throw new Error(`ADD of ${id} on host${hostIndex + 1} printed no address`);
    const container = { id, netns, host, address, result };
    host.containers.push(container);
    return container;
  }

  async delContainer(container: ClusterContainer): Promise<void> {
    const { host } = container;
    await this.call(host, { CNI_COMMAND: 'DEL', CNI_CONTAINERID: container.id, CNI_NETNS: container.netns.path, CNI_IFNAME: 'eth0' }, this.conf(host));
    host.containers.splice(host.containers.indexOf(container), 1);
  }

  allContainers(): ClusterContainer[] {
    return this.hosts.flatMap((host) => host.containers);
  }

  /**
   * Changes the peer list to `indexes` and waits until every host has applied it: agent-fed clusters through the
   * source and their controllers; static ones by a GC on every host with the new conflist (the static way to tell a
   * host that the list changed without an ADD).
   */
  async setPeers(indexes: readonly number[]): Promise<void> {
    this.#peerIndexes = [...indexes];
    if (this.source !== undefined) {
      this.source.set(this.peersOf(indexes));
      await Promise.all(this.#controllers.map((controller) => controller.idle()));
      return;
    }
    for (const host of this.hosts) {
      const valid = host.containers.map((container) => ({ containerID: container.id, ifname: 'eth0' }));
      await this.call(host, { CNI_COMMAND: 'GC' }, { ...this.conf(host), 'cni.dev/valid-attachments': valid });
    }
  }

  async stopControllers(): Promise<void> {
    await Promise.all(this.#controllers.splice(0).map((controller) => controller.stop()));
  }

  async #startControllers(): Promise<void> {
    const source = this.source;
    if (source === undefined) return;
    source.set(this.peersOf(this.#peerIndexes));
    for (const host of this.hosts) {
      const controller = new OverlayController({ network: this.network, source, netnsPath: host.netns.path });
      this.#controllers.push(controller);
      await controller.start();
    }
  }

  #host(index: number): ClusterHost {
    const host = this.hosts[index];
    if (host === undefined) throw new RangeError(`no host${index + 1} in this cluster`);
    return host;
  }
}
