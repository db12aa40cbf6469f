import { createHash } from 'node:crypto';
import type { Logger } from '@berth/cni';
import {
  ClusterError, ClusterErrorCode, DeliveryAgent, DeliveryMetrics, DispatchClient, Dispatcher, Keyring, SecretError, SecretErrorCode,
  SecretService, hostsCollection, lagBucketsMs, loadSodium, rotateClusterKey, secretMetaCollection,
  type ActiveCluster, type ClusterNode, type ManagerAddress,
} from '@berth/secrets';
import type { Sample } from './metrics.js';

interface ManagerParts {
  readonly keyring: Keyring;
  readonly service: SecretService;
  readonly dispatcher: Dispatcher;
}

/**
 * berthd's secrets service, following membership: on every host in a cluster the delivery agent (tasks, tmpfs,
 * assignments by long poll); on managers also the keyring (cluster key, autolock), the secret service and the
 * dispatcher behind the join port. `sync()` runs after start and after each init/join/leave.
 */
export class SecretsRuntime {
  readonly #node: ClusterNode;
  readonly #runDir: string;
  readonly #logger: Logger;
  readonly deliveryMetrics = new DeliveryMetrics();
  rotationsTotal = 0;
  #manager: ManagerParts | undefined;
  #agent: DeliveryAgent | undefined;
  #client: DispatchClient | undefined;
  #nodeId: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(node: ClusterNode, options: { runDir: string; logger: Logger }) {
    this.#node = node;
    this.#runDir = options.runDir;
    this.#logger = options.logger;
  }

  get runDir(): string { return this.#runDir; }

  sync(): Promise<void> {
    const run = this.#queue.then(async () => {
      const active = this.#node.active;
      if (active?.state.nodeId === this.#nodeId) return;
      await this.#stop({ dropTasks: active === undefined });
      if (active !== undefined) await this.#start(active);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #start(active: ActiveCluster): Promise<void> {
    await loadSodium();
    const { store, state } = active;
    if (state.role === 'manager') {
      const keyring = await Keyring.open({
        store, paths: this.#node.paths, nodeId: state.nodeId, seed: this.#node.clusterKey?.key, logger: this.#logger,
        onCurrentKey: (key, autolock) => { this.#node.clusterKey = key === undefined ? undefined : { key: { kekId: key.kekId, key: new Uint8Array(key.key) }, autolock }; },
      });
      const service = new SecretService({ store, keyring });
      const dispatcher = new Dispatcher({ store, service, keyring, logger: this.#logger });
      await dispatcher.start();
      this.#manager = { keyring, service, dispatcher };
      if (keyring.record?.value.rotation !== undefined && keyring.state === 'unlocked') {
        rotateClusterKey({ store, keyring, actor: { node: state.nodeId, uid: undefined } }).then(
          (result) => this.#logger.info({ kekId: result.kekId, rewrapped: result.rewrapped }, 'resumed an unfinished cluster key rotation'),
          (error: unknown) => this.#logger.warn({ err: String(error) }, 'cannot resume the cluster key rotation yet'),
        );
      }
      this.#logger.info({ keyring: keyring.state }, 'secrets: manager side ready');
    }
    const client = new DispatchClient({ tls: active.tls, managers: () => managerAddresses(active) });
    const agent = new DeliveryAgent({
      store, nodeId: state.nodeId, runDir: this.#runDir, logger: this.#logger, metrics: this.deliveryMetrics,
      fetchAssignments: (request, signal) => client.assignments(request, signal),
    });
    await agent.start();
    this.#client = client;
    this.#agent = agent;
    this.#nodeId = state.nodeId;
  }

  stop(): Promise<void> {
    const run = this.#queue.then(() => this.#stop({ dropTasks: false }));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #stop(options: { dropTasks: boolean }): Promise<void> {
    await this.#agent?.close(options);
    this.#client?.close();
    await this.#manager?.dispatcher.close();
    await this.#manager?.keyring.close();
    this.#agent = undefined;
    this.#client = undefined;
    this.#manager = undefined;
    this.#nodeId = undefined;
  }

  /** The manager side, for `berth secret …` and the key commands; a worker gets a clear "run it on a manager". */
  manager(): ManagerParts & { nodeId: string } {
    const active = this.#node.requireManager();
    if (this.#manager === undefined) throw new SecretError(SecretErrorCode.KeyUnavailable, 'The secrets service is still starting; try again');
    return { ...this.#manager, nodeId: active.state.nodeId };
  }

  agent(): DeliveryAgent {
    if (this.#node.active === undefined || this.#agent === undefined) {
      throw new SecretError(SecretErrorCode.NotInCluster, 'This host is not in a cluster: containers run without secrets (run `berth cluster init` or `join`)');
    }
    return this.#agent;
  }

  dispatcher(): Dispatcher {
    if (this.#manager === undefined) throw new ClusterError(ClusterErrorCode.NotManager, 'This host does not dispatch secrets');
    return this.#manager.dispatcher;
  }

  /** Counts only (names, versions, deliveries, lag, lock state): never a value. */
  async metrics(): Promise<Sample[]> {
    const samples: Sample[] = [];
    const metrics = this.deliveryMetrics;
    if (this.#agent !== undefined) {
      samples.push(
        { name: 'berth_secret_tasks', help: 'containers registered on this host', type: 'gauge', values: [{ value: this.#agent.list().length }] },
        { name: 'berth_secret_deliveries_total', help: 'secret sets written into containers\' tmpfs', type: 'counter', values: [{ value: metrics.deliveries }] },
        { name: 'berth_secret_delivery_failures_total', help: 'failed assignment polls', type: 'counter', values: [{ value: metrics.failures }] },
        {
          name: 'berth_secret_delivery_lag_ms', help: 'from a change\'s commit to its file swapped in place (histogram)', type: 'histogram',
          values: [
            ...lagBucketsMs.map((bound, index) => ({ labels: { le: String(bound) }, value: metrics.lagBuckets[index] ?? 0, suffix: '_bucket' })),
            { labels: { le: '+Inf' }, value: metrics.lagCount, suffix: '_bucket' }, { value: metrics.lagSumMs, suffix: '_sum' }, { value: metrics.lagCount, suffix: '_count' },
          ],
        },
      );
    }
    const manager = this.#manager;
    if (manager !== undefined) {
      samples.push(
        { name: 'berth_secrets_unlocked', help: 'this manager holds the cluster key (0: locked by autolock or unavailable)', type: 'gauge', values: [{ value: manager.keyring.state === 'unlocked' ? 1 : 0, labels: { state: manager.keyring.state } }] },
        { name: 'berth_secrets_autolock', help: 'autolock is on', type: 'gauge', values: [{ value: manager.keyring.autolock ? 1 : 0 }] },
        { name: 'berth_secret_rotations_total', help: 'secret rotations committed through this manager', type: 'counter', values: [{ value: this.rotationsTotal }] },
      );
      const metas = await manager.service.store.list(secretMetaCollection).catch(() => undefined);
      if (metas !== undefined) {
        samples.push(
          { name: 'berth_secrets', help: 'secrets in the cluster', type: 'gauge', values: [{ value: metas.entries.length }] },
          { name: 'berth_secret_versions', help: 'secret versions kept in the cluster', type: 'gauge', values: [{ value: metas.entries.reduce((sum, entry) => sum + entry.value.versions.length, 0) }] },
        );
      }
    }
    return samples;
  }
}

/**
 * Managers' join endpoints: this host first when it is one (no network hop for its own containers); otherwise
 * rotated by a digest of this host's node id, so hosts spread their long polls over the managers.
 */
async function managerAddresses(active: ActiveCluster): Promise<ManagerAddress[]> {
  const { entries } = await active.store.list(hostsCollection);
  const managers = entries.map((entry) => entry.value).filter((host) => host.role === 'manager' && host.addresses[0] !== undefined);
  const self = managers.findIndex((host) => host.nodeId === active.state.nodeId);
  const start = self >= 0 ? self : createHash('sha256').update(active.state.nodeId).digest().readUInt32BE(0) % Math.max(1, managers.length);
  return [...managers.slice(start), ...managers.slice(0, start)].map((host) => ({ address: host.addresses[0] ?? '', port: host.joinPort }));
}
