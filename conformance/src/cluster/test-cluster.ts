import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TeardownRegistry } from '../harness/index.js';
import { BerthdHost } from './berthd-host.js';
import { KvClientProcess } from './kv-client.js';
import { ClusterTopology } from './topology.js';

export interface TestClusterOptions {
  readonly managers: number;
  /** Extra berthd arguments for the managers (e.g. etcd timing). */
  readonly managerArgs?: readonly string[];
  /** Extra berthd arguments for the client host c1. */
  readonly clientArgs?: readonly string[];
  /** More hosts on the same underlay, each with a berthd (clientArgs) that has not joined: for joins during a test. */
  readonly spareHosts?: readonly string[];
}

/**
 * Managers m1..mN and a client host c1, each a namespace with its own berthd; m1 initialises, the other managers
 * join with the manager token, c1 joins as a worker. The KV clients run on c1 but act as a manager's store traffic
 * (m1's identity): their keys (`conformance/kv/`) are outside any worker's grant, as they should be.
 */
export class TestCluster {
  readonly topology: ClusterTopology;
  readonly stateDir: string;
  readonly managers: BerthdHost[];
  readonly client: BerthdHost;
  readonly spares: BerthdHost[];
  readonly #kvClients: KvClientProcess[] = [];

  private constructor(topology: ClusterTopology, stateDir: string, managers: BerthdHost[], client: BerthdHost, spares: BerthdHost[]) {
    this.topology = topology;
    this.stateDir = stateDir;
    this.managers = managers;
    this.client = client;
    this.spares = spares;
  }

  static async start(registry: TeardownRegistry, options: TestClusterOptions): Promise<TestCluster> {
    const names = [...Array.from({ length: options.managers }, (_, i) => `m${i + 1}`), 'c1', ...(options.spareHosts ?? [])];
    const stateDir = `/tmp/bt-cl-${randomBytes(4).toString('hex')}`;
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    registry.teardown(() => (process.env['BERTH_KEEP_TEST_STATE'] === undefined ? rm(stateDir, { recursive: true, force: true }) : undefined));
    const topology = await ClusterTopology.create(registry, names);
    const managers = topology.hosts.slice(0, options.managers).map((host) => new BerthdHost(host, stateDir, options.managerArgs ?? []));
    const client = new BerthdHost(topology.host('c1'), stateDir, options.clientArgs ?? []);
    const spares = (options.spareHosts ?? []).map((name) => new BerthdHost(topology.host(name), stateDir, options.clientArgs ?? []));
    const cluster = new TestCluster(topology, stateDir, managers, client, spares);
    registry.teardown(() => cluster.destroy());
    await Promise.all([...managers, client, ...spares].map((host) => host.start()));
    const [first, ...others] = managers;
    if (first === undefined) throw new Error('a cluster needs a manager');
    const init = await first.cliJson<{ workerToken: string }>(['cluster', 'init']);
    const { token: managerToken } = await first.cliJson<{ token: string }>(['cluster', 'join-token', 'manager']);
    for (const manager of others) await manager.join(managerToken, first.host);
    await client.join(init.workerToken, first.host);
    return cluster;
  }

  get endpoints(): string[] {
    return this.managers.map((manager) => `https://${manager.host.address}:2379`);
  }

  /** The manager whose etcd member is the raft leader, as `berth cluster ls` reports it. */
  async leader(): Promise<BerthdHost> {
    const ids = await Promise.all(this.managers.map((manager) => manager.nodeId()));
    for (let attempt = 0; attempt < 50; attempt += 1) {
      for (const manager of this.managers) {
        const hosts = await manager.hosts().catch(() => undefined);
        const leaderId = hosts?.find((host) => host.member?.leader === true)?.nodeId;
        const leader = this.managers[ids.findIndex((id) => id === leaderId)];
        if (leader !== undefined) return leader;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('No etcd leader reported within 10 s');
  }

  /** The other managers (peers to cut a manager off from). */
  peersOf(manager: BerthdHost): BerthdHost[] {
    return this.managers.filter((other) => other !== manager);
  }

  /** m1's identity files: the store traffic of a manager (what the KV clients and the store benchmark use). */
  managerTlsFiles(): { caFile: string; certFile: string; keyFile: string } {
    const cluster = join(this.managers[0]?.root ?? this.client.root, 'cluster');
    return { caFile: join(cluster, 'ca.crt'), certFile: join(cluster, 'node.crt'), keyFile: join(cluster, 'node.key') };
  }

  /** A KV client process in the client host, authenticated with m1's node certificate (manager store traffic). */
  async kvClient(clientId: number, options: { endpoints?: readonly string[]; readConsistency?: 'linearizable' | 'serializable'; requestTimeoutMs?: number } = {}): Promise<KvClientProcess> {
    const client = await KvClientProcess.start(this.client.host.netns.path, {
      clientId,
      endpoints: options.endpoints ?? this.endpoints,
      ...this.managerTlsFiles(),
      historyFile: join(this.stateDir, `history-${clientId}.jsonl`),
      readConsistency: options.readConsistency ?? 'linearizable',
      requestTimeoutMs: options.requestTimeoutMs ?? 2_000,
    });
    this.#kvClients.push(client);
    return client;
  }

  historyFiles(): string[] {
    return this.#kvClients.map((client) => client.config.historyFile);
  }

  async destroy(): Promise<void> {
    for (const client of this.#kvClients) client.kill();
    for (const host of [...this.spares, this.client, ...this.managers]) await host.destroy().catch(() => undefined);
  }
}
