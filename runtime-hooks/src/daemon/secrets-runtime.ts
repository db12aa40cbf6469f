import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@berth/cni';
import {
  ClusterError, ClusterErrorCode, DeliveryAgent, DeliveryMetrics, DispatchClient, Dispatcher, Keyring, SecretError, SecretErrorCode,
  SecretService, hostsCollection, lagBucketsMs, loadSodium, rotateClusterKey, secretMetaCollection,
  type ActiveCluster, type ClusterNode, type ManagerAddress,
} from '@berth/secrets';
import type { Sample } from './metrics.js';

/** Back-off ceiling between start attempts while the store is unreachable. */
export const startRetryBackoffMsMax = 5_000;

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
  #stopFollowingIdentity: (() => void) | undefined;
  #nodeId: string | undefined;
  /** The node the runtime should serve; a start attempt for an older target gives up. */
  #target: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(node: ClusterNode, options: { runDir: string; logger: Logger }) {
    this.#node = node;
    this.#runDir = options.runDir;
    this.#logger = options.logger;
  }

  get runDir(): string { return this.#runDir; }

  /**
   * Follows membership. The first start is awaited (so `init` and `join` answer with secrets ready); when the store
   * is not reachable yet (a manager waiting for quorum at boot) it is retried in the background while berthd serves
   * everything else: secrets never keep a host's etcd member from starting.
   */
  async sync(): Promise<void> {
    const active = this.#node.active;
    const target = active?.state.nodeId;
    if (target === this.#target) return;
    this.#target = target;
    await this.#serial(() => this.#stop({ dropTasks: active === undefined }));
    if (active === undefined || target === undefined) return;
    if (!(await this.#tryStart(active, target, 1))) void this.#retryStart(active, target);
  }

  async #retryStart(active: ActiveCluster, target: string): Promise<void> {
    for (let attempt = 2; this.#target === target && this.#nodeId !== target; attempt += 1) {
      await sleep(Math.min(startRetryBackoffMsMax, 250 * attempt));
      await this.#tryStart(active, target, attempt);
    }
  }

  async #tryStart(active: ActiveCluster, target: string, attempt: number): Promise<boolean> {
    try {
      await this.#serial(async () => {
        if (this.#target === target && this.#nodeId !== target) await this.#start(active);
      });
      return true;
    } catch (error) {
      this.#logger.warn({ err: error instanceof Error ? error.message : String(error), attempt }, 'secrets: cannot start yet; retrying');
      return false;
    }
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Starts every part or none: a failure closes what was opened. */
  async #start(active: ActiveCluster): Promise<void> {
    await loadSodium();
    const { store, state } = active;
    const manager = state.role === 'manager' ? await this.#startManager(active) : undefined;
    const own = manager === undefined ? undefined : { nodeId: state.nodeId, dispatcher: manager.dispatcher };
    const client = new DispatchClient({ tls: active.tls, managers: () => managerAddresses(active), own });
    const agent = new DeliveryAgent({
      store, nodeId: state.nodeId, runDir: this.#runDir, logger: this.#logger, metrics: this.deliveryMetrics,
      fetchAssignments: (request, signal) => client.assignments(request, signal),
    });
    try {
      await agent.start();
    } catch (error) {
      client.close();
      await manager?.dispatcher.close();
      await manager?.keyring.close();
      throw error;
    }
    this.#manager = manager;
    this.#client = client;
    this.#stopFollowingIdentity = this.#node.onIdentityRenewed((tls) => client.useIdentity(tls));
    this.#agent = agent;
    this.#nodeId = state.nodeId;
  }

  async #startManager(active: ActiveCluster): Promise<ManagerParts> {
    const { store, state } = active;
    const keyring = await Keyring.open({
      store, paths: this.#node.paths, nodeId: state.nodeId, seed: this.#node.clusterKey?.key, logger: this.#logger,
      onCurrentKey: (key, autolock) => { this.#node.clusterKey = key === undefined ? undefined : { key: { kekId: key.kekId, key: new Uint8Array(key.key) }, autolock }; },
    });
    const service = new SecretService({ store, keyring });
    const dispatcher = new Dispatcher({ store, service, keyring, logger: this.#logger });
    try {
      await dispatcher.start();
    } catch (error) {
      await keyring.close();
      throw error;
    }
    if (keyring.record?.value.rotation !== undefined && keyring.state === 'unlocked') {
      rotateClusterKey({ store, keyring, actor: { node: state.nodeId, uid: undefined } }).then(
        (result) => this.#logger.info({ kekId: result.kekId, rewrapped: result.rewrapped }, 'resumed an unfinished cluster key rotation'),
        (error: unknown) => this.#logger.warn({ err: String(error) }, 'cannot resume the cluster key rotation yet'),
      );
    }
    this.#logger.info({ keyring: keyring.state }, 'secrets: manager side ready');
    return { keyring, service, dispatcher };
  }

  stop(): Promise<void> {
    this.#target = undefined;
    return this.#serial(() => this.#stop({ dropTasks: false }));
  }

  async #stop(options: { dropTasks: boolean }): Promise<void> {
    await this.#agent?.close(options);
    this.#stopFollowingIdentity?.();
    this.#stopFollowingIdentity = undefined;
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
    if (this.#node.active === undefined) {
      throw new SecretError(SecretErrorCode.NotInCluster, 'This host is not in a cluster: containers run without secrets (run `berth cluster init` or `join`)');
    }
    if (this.#agent === undefined) throw new SecretError(SecretErrorCode.DeliveryFailed, 'The secrets service is still starting (the cluster store is not reachable yet); try again');
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
