/**
 * The truth-table pods spread over a three-host Berth cluster: hosts m1 (manager), w1 and w2 (workers) in network
 * namespaces on a bridged underlay (ClusterTopology), each running berthd. Each host has a bridge network
 * (berth-bridge + berth-ipam + berth-firewall, subnet 10.89.<host>.0/24, no masquerade) and routes to the other
 * hosts' pod subnets over the underlay, so pods reach each other across hosts with their own addresses. Pods are
 * attached by running the CNI executables as an engine does (one process per plugin, a clean environment, inside
 * the host's namespace); berth-firewall registers each pod through its host's berthd into the cluster store.
 * Policies are applied on the manager through its local API and every host's berthd enforces them.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonObject } from '@berth/cni';
import { BerthdHost } from '../cluster/berthd-host.js';
import { ClusterTopology } from '../cluster/topology.js';
import { CniEngine } from '../cni/engine.js';
import { berthImplementation, type CniImplementation } from '../cni/implementation.js';
import { createTestNetns, uniqueName, type TeardownRegistry } from '../harness/index.js';
import { documentKeyOf, type PolicyDocument } from './documents.js';
import { ProbeAgent } from './probe-agent.js';
import type { CaseTopology } from './runner.js';
import { namespaceDocuments, namespaceNames, podNames, servedPorts, type NetpolPod } from './topology.js';

export interface PolicyStatus {
  readonly cluster: boolean;
  readonly enforcing: boolean;
  readonly storeReachable: boolean;
  readonly storeUnreachableSince: string | null;
  readonly revisions: { policies: number; endpoints: number } | null;
  readonly digest: string | null;
  readonly summary: string;
}

export interface ClusterPod extends NetpolPod {
  readonly host: BerthdHost;
  readonly firewall: 'served' | 'exec';
}

/** Which host a truth-table pod lives on: a's on m1, b's on w1, c's (and d's) on w2. */
const hostOfPod: Readonly<Record<string, number>> = { a: 0, b: 1, c: 2, d: 2 };
const convergeTimeoutMs = 30_000;

const subnetOf = (hostIndex: number): string => `10.89.${hostIndex + 1}.0/24`;

export class PolicyCluster implements CaseTopology {
  readonly topology: ClusterTopology;
  readonly hosts: readonly BerthdHost[];
  readonly pods: ClusterPod[] = [];
  readonly #registry: TeardownRegistry;
  readonly #engines: CniEngine[];
  /** The same plugins, but berth-firewall is the bundled Node plugin exec'd directly (not the shim berthd serves). */
  readonly #execEngines: CniEngine[];

  private constructor(registry: TeardownRegistry, topology: ClusterTopology, hosts: BerthdHost[], execFirewall: CniImplementation) {
    this.#registry = registry;
    this.topology = topology;
    this.hosts = hosts;
    const env = (host: BerthdHost) => ({ BERTH_SOCKET: host.socket, BERTH_ROOT: host.root });
    this.#engines = hosts.map((host) => new CniEngine(berthImplementation, host.host.netns, env(host)));
    this.#execEngines = hosts.map((host) => new CniEngine(execFirewall, host.host.netns, env(host)));
  }

  get manager(): BerthdHost { return this.hosts[0] as BerthdHost; }

  /** The cluster, the pod networks and routes, the namespaces, and (unless `pods: false`) the nine truth-table pods. */
  static async create(registry: TeardownRegistry, options: { pods?: boolean } = {}): Promise<PolicyCluster> {
    const stateDir = `/tmp/bt-pc-${randomBytes(4).toString('hex')}`;
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    registry.teardown(() => (process.env['BERTH_KEEP_TEST_STATE'] === undefined ? rm(stateDir, { recursive: true, force: true }) : undefined));
    const topology = await ClusterTopology.create(registry, ['m1', 'w1', 'w2']);
    const hosts = topology.hosts.map((host) => new BerthdHost(host, stateDir));
    registry.teardown(async () => { for (const host of hosts) await host.destroy().catch(() => undefined); });
    await Promise.all(hosts.map((host) => host.start()));
    const [manager, ...workers] = hosts as [BerthdHost, ...BerthdHost[]];
    const { workerToken } = await manager.cliJson<{ workerToken: string }>(['cluster', 'init']);
    for (const worker of workers) await worker.join(workerToken, manager.host);
    const cluster = new PolicyCluster(registry, topology, hosts, await execFirewallPlugins(stateDir));
    for (const [index, host] of hosts.entries()) {
      await host.host.netns.execChecked(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      for (const [other, peer] of hosts.entries()) {
        if (other !== index) await host.host.netns.execChecked(['ip', 'route', 'add', subnetOf(other), 'via', peer.host.address]);
      }
    }
    await cluster.waitEnforcing();
    await cluster.apply(namespaceDocuments);
    if (options.pods !== false) {
      for (const namespace of namespaceNames) for (const name of podNames) await cluster.addPod(namespace, name);
    }
    return cluster;
  }

  status(host: BerthdHost, options: { digest?: boolean } = {}): Promise<PolicyStatus> {
    return host.api('GET', `/v1/policy/status${options.digest === true ? '?digest=1' : ''}`) as Promise<PolicyStatus>;
  }

  /** Every host's berthd enforces the cluster's policies from the store (bounded wait). */
  async waitEnforcing(hosts: readonly BerthdHost[] = this.hosts): Promise<void> {
    const deadline = Date.now() + convergeTimeoutMs;
    for (const host of hosts) {
      for (;;) {
        const status = await this.status(host).catch(() => undefined);
        if (status?.enforcing === true && status.storeReachable) break;
        if (Date.now() > deadline) throw new Error(`berthd on ${host.host.name} does not enforce the cluster's policies: ${status?.summary ?? 'no answer'}`);
        await sleep(50);
      }
    }
  }

  /**
   * Waits until every host enforces what `writer` enforces now (the same state digest); returns how long that took,
   * in milliseconds (polled every 5 ms).
   */
  async converge(writer: BerthdHost = this.manager, hosts: readonly BerthdHost[] = this.hosts): Promise<number> {
    const started = process.hrtime.bigint();
    const target = (await this.status(writer, { digest: true })).digest;
    if (target === null) throw new Error(`${writer.host.name} does not enforce the cluster's policies`);
    const deadline = Date.now() + convergeTimeoutMs;
    for (const host of hosts) {
      for (;;) {
        const status = await this.status(host, { digest: true }).catch(() => undefined);
        if (status?.digest === target && status.enforcing) break;
        if (Date.now() > deadline) throw new Error(`${host.host.name} did not reach ${writer.host.name}'s state within ${convergeTimeoutMs} ms: ${status?.summary ?? 'no answer'}`);
        await sleep(5);
      }
    }
    return Number(process.hrtime.bigint() - started) / 1e6;
  }

  /** Applies on the manager (one store transaction); returns once every host of `hosts` enforces it. */
  async apply(documents: readonly PolicyDocument[], hosts: readonly BerthdHost[] = this.hosts): Promise<{ revision: number; appliedMs: number; visibleMs: number }> {
    if (documents.length === 0) return { revision: 0, appliedMs: 0, visibleMs: 0 };
    const started = process.hrtime.bigint();
    const answer = await this.manager.api('POST', '/v1/policies', { text: documents.map((document) => JSON.stringify(document)).join('\n---\n') }) as { revision: number; appliedMs: number };
    await this.converge(this.manager, hosts);
    return { revision: answer.revision, appliedMs: answer.appliedMs, visibleMs: Number(process.hrtime.bigint() - started) / 1e6 };
  }

  async remove(documents: readonly PolicyDocument[]): Promise<void> {
    for (const document of documents) await this.manager.api('DELETE', `/v1/policies/${encodeURIComponent(documentKeyOf(document))}`);
    if (documents.length > 0) await this.converge();
  }

  async setMonitor(monitor: boolean): Promise<void> {
    await this.manager.api('POST', '/v1/policies/monitor', { monitor });
    await this.converge();
  }

  async reset(): Promise<void> {
    const { documents, monitor } = await this.manager.api('GET', '/v1/policies') as { documents: Array<{ kind: string; metadata: { name: string; namespace?: string } }>; monitor: boolean };
    for (const document of documents) {
      if (document.kind === 'Namespace') continue;
      const key = document.kind === 'NetworkPolicy' ? `NetworkPolicy/${document.metadata.namespace ?? 'default'}/${document.metadata.name}` : `${document.kind}/${document.metadata.name}`;
      await this.manager.api('DELETE', `/v1/policies/${encodeURIComponent(key)}`);
    }
    if (monitor) await this.manager.api('POST', '/v1/policies/monitor', { monitor: false });
    await this.converge();
  }

  #conflist(hostIndex: number, pod: { labels: Record<string, string>; namedPorts: NetpolPod['namedPorts'] }): JsonObject {
    const host = this.hosts[hostIndex] as BerthdHost;
    return {
      cniVersion: '1.0.0', name: 'polnet',
      plugins: [
        {
          type: 'berth-bridge', bridge: 'bp0', isGateway: true, ipMasq: false,
          ipam: { type: 'berth-ipam', ranges: [[{ subnet: subnetOf(hostIndex) }]], routes: [{ dst: '10.89.0.0/16' }], dataDir: join(host.root, 'ipam') },
        },
        {
          type: 'berth-firewall',
          args: { cni: { labels: Object.entries(pod.labels).map(([key, value]) => ({ key, value })), ports: pod.namedPorts.map((port) => ({ name: port.name, containerPort: port.port, protocol: port.protocol })) } },
        },
      ],
    };
  }

  /**
   * A pod namespace attached through the CNI executables on its host; its agent serves the truth table's ports.
   * `firewall: 'exec'` runs berth-firewall as the exec'd Node plugin, which registers over berthd's local API.
   */
  async addPod(namespace: string, name: string, hostIndex = hostOfPod[name] ?? 0, options: { firewall?: 'served' | 'exec' } = {}): Promise<ClusterPod> {
    const netns = await createTestNetns(uniqueName(`pp${namespace}${name}`));
    this.#registry.teardown(() => netns.remove());
    const containerId = `pol-${namespace}-${name}-${randomBytes(3).toString('hex')}`;
    const namedPorts = servedPorts.flatMap((port) => (['TCP', 'UDP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, port, protocol })));
    const labels = { pod: name };
    const engines = options.firewall === 'exec' ? this.#execEngines : this.#engines;
    const result = await (engines[hostIndex] as CniEngine).add(this.#conflist(hostIndex, { labels, namedPorts }), {
      containerId, netns: netns.path, ifName: 'eth0', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name}`,
    });
    const ips = (result?.['ips'] ?? []) as Array<{ address: string }>;
    const ip = ips[0]?.address.split('/')[0];
    if (ip === undefined) throw new Error(`CNI ADD of ${namespace}/${name} gave no address: ${JSON.stringify(result)}`);
    const agent = await ProbeAgent.start(this.#registry, netns.path, servedPorts);
    const host = this.hosts[hostIndex] as BerthdHost;
    const pod: ClusterPod = { namespace, name, labels, ip, namedPorts, netns, agent, containerId, hostInterface: '', host, firewall: options.firewall ?? 'served' };
    this.pods.push(pod);
    await this.converge(host);
    return pod;
  }

  async removePod(pod: NetpolPod): Promise<void> {
    const index = this.pods.findIndex((item) => item === pod);
    const clusterPod = this.pods[index];
    if (clusterPod === undefined) throw new Error(`${pod.namespace}/${pod.name} is not a pod of this cluster`);
    const hostIndex = this.hosts.indexOf(clusterPod.host);
    const engines = clusterPod.firewall === 'exec' ? this.#execEngines : this.#engines;
    await (engines[hostIndex] as CniEngine).del(this.#conflist(hostIndex, clusterPod), { containerId: pod.containerId, netns: pod.netns.path, ifName: 'eth0' });
    pod.agent.stop();
    this.pods.splice(index, 1);
    await pod.netns.remove();
    await this.converge(clusterPod.host);
  }

  /** One CNI ADD with the exec'd firewall plugin, for tests that expect it to fail (the error is returned). */
  async tryExecAdd(hostIndex: number, containerId: string, netnsPath: string): Promise<unknown> {
    try {
      await (this.#execEngines[hostIndex] as CniEngine).add(this.#conflist(hostIndex, { labels: { pod: 'tried' }, namedPorts: [] }), { containerId, netns: netnsPath, ifName: 'eth0', args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=tried' });
      return undefined;
    } catch (error) {
      return error;
    }
  }

  async execDel(hostIndex: number, containerId: string, netnsPath: string): Promise<void> {
    await (this.#execEngines[hostIndex] as CniEngine).del(this.#conflist(hostIndex, { labels: {}, namedPorts: [] }), { containerId, netns: netnsPath, ifName: 'eth0' });
  }

  pod(namespace: string, name: string): ClusterPod {
    const pod = this.pods.find((item) => item.namespace === namespace && item.name === name);
    if (pod === undefined) throw new Error(`no pod ${namespace}/${name}`);
    return pod;
  }
}

/** A plugin directory where berth-bridge and berth-ipam are the shims and berth-firewall the bundled Node plugin. */
async function execFirewallPlugins(stateDir: string): Promise<CniImplementation> {
  const pluginDir = join(stateDir, 'exec-plugins');
  await mkdir(pluginDir, { recursive: true });
  for (const plugin of ['berth-bridge', 'berth-ipam']) await symlink(join(berthImplementation.pluginDir, plugin), join(pluginDir, plugin));
  const bundle = join(berthImplementation.pluginDir, '..', 'dist', 'bundle', 'berth-firewall.cjs');
  await writeFile(join(pluginDir, 'berth-firewall'), `#!/bin/sh\nexec ${process.execPath} ${bundle}\n`);
  await chmod(join(pluginDir, 'berth-firewall'), 0o755);
  return { label: 'berth, firewall exec\'d', pluginDir, typePrefix: 'berth-' };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

