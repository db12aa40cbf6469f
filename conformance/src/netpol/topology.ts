/**
 * The truth-table topology, built once and reused by every case: a test "host" namespace with bridge br0, and
 * one namespace per pod (x, y, z × a, b, c) on it, made with Berth's netlink helpers. Each pod is registered
 * through the real `berth-firewall` CNI executable (run in the host namespace, as an engine would), runs a
 * probe agent serving TCP/UDP 80 and 81, and the firewall under test enforces in the host namespace.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRtnl, type Rtnl } from '@berth/cni';
import { Firewall } from '@berth/firewall';
import { execCommand, TestHost, type TeardownRegistry, type TestNetns } from '../harness/index.js';
import { documentKeyOf, namespaceDocument, type PolicyDocument } from './documents.js';
import type { ModelPod } from './model.js';
import { ProbeAgent } from './probe-agent.js';

export const servedPorts = [80, 81] as const;
export const namespaceNames = ['x', 'y', 'z'] as const;
export const podNames = ['a', 'b', 'c'] as const;
const subnetPrefix = '10.88.0';
const namespaceBase: Readonly<Record<string, number>> = { x: 10, y: 20, z: 30 };
const podOffset: Readonly<Record<string, number>> = { a: 0, b: 1, c: 2, d: 3 };
export const namespaceDocuments: readonly PolicyDocument[] = [
  namespaceDocument('x', { ns: 'x', team: 'blue' }), namespaceDocument('y', { ns: 'y' }), namespaceDocument('z', { ns: 'z' }),
];

export interface NetpolPod extends ModelPod {
  readonly netns: TestNetns;
  readonly agent: ProbeAgent;
  readonly containerId: string;
  readonly hostInterface: string;
}

/** The repository root, found upwards from this file (works from src/ under tap and from dist/). */
function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    if (existsSync(join(directory, 'cni', 'bin', 'berth-firewall'))) return directory;
    directory = dirname(directory);
  }
  throw new Error('Cannot find cni/bin/berth-firewall above the conformance package');
}

export class NetpolTopology {
  readonly host: TestHost;
  readonly root: string;
  readonly firewall: Firewall;
  readonly pods: NetpolPod[] = [];
  readonly #rtnl: Rtnl;
  readonly #registry: TeardownRegistry;
  readonly #plugin: string;

  private constructor(host: TestHost, root: string, rtnl: Rtnl, registry: TeardownRegistry) {
    this.host = host;
    this.root = root;
    this.#rtnl = rtnl;
    this.#registry = registry;
    this.firewall = new Firewall({ root, netns: host.path });
    this.#plugin = join(repositoryRoot(), 'cni', 'bin', 'berth-firewall');
    if (!existsSync(join(dirname(this.#plugin), '..', 'dist', 'bundle', 'berth-firewall.cjs'))) {
      throw new Error('cni/dist/bundle/berth-firewall.cjs is missing: run `npm run build` first');
    }
  }

  static async create(registry: TeardownRegistry): Promise<NetpolTopology> {
    const host = await TestHost.create(registry, 'netpol');
    const root = mkdtempSync(join(tmpdir(), 'bt-netpol-'));
    registry.teardown(() => rmSync(root, { recursive: true, force: true }));
    const rtnl = openRtnl(host.path);
    registry.teardown(() => rtnl.close());
    await rtnl.links.ensureBridge({ name: 'br0', up: true });
    const topology = new NetpolTopology(host, root, rtnl, registry);
    await topology.firewall.apply(namespaceDocuments.map((document) => JSON.stringify(document)).join('\n---\n'));
    for (const namespace of namespaceNames) {
      for (const name of podNames) await topology.addPod(namespace, name);
    }
    return topology;
  }

  /** Creates a pod namespace on the bridge, starts its agent and registers it through the CNI plugin. */
  async addPod(namespace: string, name: string): Promise<NetpolPod> {
    const netns = await this.host.addNetns(`${namespace}${name}`);
    const hostInterface = `vp-${namespace}${name}`;
    const ip = `${subnetPrefix}.${(namespaceBase[namespace] ?? 40) + (podOffset[name] ?? 9)}`;
    await this.#rtnl.links.createVeth({ name: hostInterface, master: 'br0', up: true, peer: { name: 'eth0', netnsPath: netns.path } });
    const inside = openRtnl(netns.path);
    try {
      await inside.links.setUp('lo');
      await inside.links.setUp('eth0');
      await inside.addresses.add('eth0', `${ip}/24`);
    } finally {
      inside.close();
    }
    const agent = await ProbeAgent.start(this.#registry, netns.path, servedPorts);
    const namedPorts = servedPorts.flatMap((port) => (['TCP', 'UDP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, port, protocol })));
    const pod: NetpolPod = { namespace, name, labels: { pod: name }, ip, namedPorts, netns, agent, containerId: `netpol-${namespace}-${name}`, hostInterface };
    await this.#cni('ADD', pod);
    this.pods.push(pod);
    return pod;
  }

  /** CNI DEL through the plugin, then the pod's namespace goes. */
  async removePod(pod: NetpolPod): Promise<void> {
    await this.#cni('DEL', pod);
    pod.agent.stop();
    this.pods.splice(this.pods.indexOf(pod), 1);
    await pod.netns.remove();
  }

  async #cni(command: 'ADD' | 'DEL', pod: NetpolPod): Promise<void> {
    const config = {
      cniVersion: '1.0.0', name: 'netpol', type: 'berth-firewall',
      args: { cni: { labels: Object.entries(pod.labels).map(([key, value]) => ({ key, value })), ports: pod.namedPorts.map((port) => ({ name: port.name, containerPort: port.port, protocol: port.protocol })) } },
      prevResult: { cniVersion: '1.0.0', interfaces: [{ name: pod.hostInterface }, { name: 'eth0', sandbox: pod.netns.path }], ips: [{ address: `${pod.ip}/24`, interface: 1 }] },
    };
    const env = {
      ...process.env, BERTH_ROOT: this.root, CNI_COMMAND: command, CNI_CONTAINERID: pod.containerId, CNI_NETNS: pod.netns.path,
      CNI_IFNAME: 'eth0', CNI_PATH: dirname(this.#plugin), CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name}`,
    };
    const result = await execCommand(['nsenter', `--net=${this.host.path}`, '--', this.#plugin], { env, input: JSON.stringify(config) });
    if (result.code !== 0) throw new Error(`berth-firewall ${command} for ${pod.namespace}/${pod.name} failed: ${result.stdout.trim()} ${result.stderr.trim()}`);
  }

  /** Removes every policy document (namespaces stay) and leaves monitor mode: the clean slate between cases. */
  async reset(): Promise<void> {
    const state = this.firewall.read();
    for (const stored of state.documents) {
      if (stored.document.kind !== 'Namespace') await this.firewall.remove(stored.key);
    }
    if (state.monitor) await this.firewall.setMonitor(false);
  }

  async setMonitor(monitor: boolean): Promise<void> {
    await this.firewall.setMonitor(monitor);
  }

  async apply(documents: readonly PolicyDocument[]): Promise<void> {
    if (documents.length > 0) await this.firewall.apply(documents.map((document) => JSON.stringify(document)).join('\n---\n'));
  }

  async remove(documents: readonly PolicyDocument[]): Promise<void> {
    for (const document of documents) await this.firewall.remove(documentKeyOf(document));
  }
}
