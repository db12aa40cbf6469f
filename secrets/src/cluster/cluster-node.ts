import { mkdir, readFile, stat } from 'node:fs/promises';
import { createLogger, type Logger } from '@berth/cni';
import { EtcdKvStore, type EtcdTls } from '../store/etcd-kv-store.js';
import { StoreMetrics } from '../store/metrics.js';
import { absent } from '../store/revision.js';
import { Store } from '../store/typed-store.js';
import { createClusterCa, newClusterId, type ClusterCaPem } from './ca.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import {
  autoCompactionRetentionDefault, clientUrl, etcdTimingTuned, peerUrl, quotaBackendBytesDefault,
  type EtcdMemberConfig, type EtcdTiming,
} from './etcd-config.js';
import { EtcdMember, terminate, type EtcdMemberEvent } from './etcd-member.js';
import { waitForEtcdHealthy } from './etcd-probe.js';
import { formatJoinToken, newJoinTokenRecord, openJoinSecret } from './join-token.js';
import { aliveCollection, clusterInfoCollection, clusterInfoId, hostsCollection, joinTokensCollection } from './keys.js';
import { Liveness } from './liveness.js';
import { loadNodeState, nodePaths, saveNodeState, wipeNodeState, writeSecretFile, type NodePaths, type NodeState } from './node-state.js';
import { createNodeKeyAndCsr, issueNodeCertificate, newNodeId, type NodeRole } from './node-cert.js';
import { certificateFingerprint } from './pki.js';
import { findEtcdProcesses } from './process-table.js';
import { saveClusterKey } from '../secrets/cluster-key-file.js';
import { newClusterKey, zero, type ClusterKey } from '../secrets/crypto.js';
import { keyringCollection, keyringId } from '../secrets/schema.js';
import { loadSodium } from '../secrets/sodium.js';

export interface ClusterNodeLimits {
  readonly healthyTimeoutMs: number;
  readonly joinRequestTimeoutMs: number;
  readonly promoteTimeoutMs: number;
  readonly statusTimeoutMs: number;
}

export const clusterNodeLimitsDefault: ClusterNodeLimits = { healthyTimeoutMs: 30_000, joinRequestTimeoutMs: 30_000, promoteTimeoutMs: 30_000, statusTimeoutMs: 1_500 };

export interface ClusterNodeOptions {
  readonly root: string;
  readonly advertiseAddress: string;
  readonly joinPort: number;
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
  readonly hostname: string;
  readonly timing?: EtcdTiming;
  readonly leaseTtlSeconds?: number;
  readonly etcdBinary?: string;
  readonly limits?: Partial<ClusterNodeLimits>;
  readonly logger?: Logger;
  readonly onMemberEvent?: (event: EtcdMemberEvent) => void;
}

/** What a host that is in a cluster runs: its identity, its store client, its etcd member (managers), its lease. */
export interface ActiveCluster {
  readonly state: NodeState;
  readonly tls: EtcdTls;
  readonly kv: EtcdKvStore;
  readonly store: Store;
  readonly member: EtcdMember | undefined;
  readonly liveness: Liveness;
}

export interface InitResult {
  readonly clusterId: string;
  readonly nodeId: string;
  readonly managerToken: string;
  readonly workerToken: string;
}

/**
 * One host's membership in a Berth cluster, as Docker swarm models it: `init` makes the CA and the first manager,
 * joins go through a manager's join endpoint, `leave` removes the etcd member before stopping it. The on-disk
 * state (`$BERTH_ROOT/cluster/state.json`) is written last, so a crash mid-way leaves nothing that looks joined;
 * `open` wipes such leftovers.
 */
export class ClusterNode {
  readonly options: ClusterNodeOptions;
  readonly paths: NodePaths;
  readonly limits: ClusterNodeLimits;
  readonly logger: Logger;
  readonly storeMetrics = new StoreMetrics();
  #active: ActiveCluster | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /**
   * Managers only: the current cluster key (KEK) in memory, with whether the cluster is autolocked. Set by init and
   * by a manager join (from the join answer), kept current by the secrets keyring; a join answer hands it on.
   */
  clusterKey: { readonly key: ClusterKey; readonly autolock: boolean } | undefined;

  private constructor(options: ClusterNodeOptions) {
    this.options = options;
    this.paths = nodePaths(options.root);
    this.limits = { ...clusterNodeLimitsDefault, ...options.limits };
    this.logger = options.logger ?? createLogger('cluster');
  }

  static async open(options: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(options);
    await node.#discardUnfinished();
    const state = await loadNodeState(node.paths);
    if (state !== undefined) await node.activate(state);
    return node;
  }

  get active(): ActiveCluster | undefined { return this.#active; }

  requireActive(): ActiveCluster {
    if (this.#active === undefined) throw new ClusterError(ClusterErrorCode.NotInitialized, 'This host is not in a cluster: run `berth cluster init` or `berth cluster join`');
    return this.#active;
  }

  requireManager(): ActiveCluster {
    const active = this.requireActive();
    if (active.state.role !== 'manager') throw new ClusterError(ClusterErrorCode.NotManager, `This host (${active.state.nodeId}) is a worker; run this on a manager`);
    return active;
  }

  /** Runs membership changes one at a time. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  init(): Promise<InitResult> {
    return this.exclusive(async () => {
      if (this.#active !== undefined) throw new ClusterError(ClusterErrorCode.AlreadyInCluster, `This host is already in cluster ${this.#active.state.clusterId}`);
      const clusterId = newClusterId();
      const ca = await createClusterCa({ clusterId });
      const nodeId = newNodeId();
      const { privateKeyPem, csrPem } = await createNodeKeyAndCsr(nodeId);
      await loadSodium();
      const clusterKey = newClusterKey();
      const address = this.options.advertiseAddress;
      const certificatePem = await issueNodeCertificate({ ca, csrPem, nodeId, role: 'manager', addresses: [address] });
      const state: NodeState = {
        version: 1, clusterId, nodeId, role: 'manager', advertiseAddress: address, joinPort: this.options.joinPort,
        clientUrls: [clientUrl(address, this.options.etcdClientPort)], joinedAt: new Date().toISOString(),
        member: {
          clientPort: this.options.etcdClientPort, peerPort: this.options.etcdPeerPort, clusterToken: `berth-${clusterId}`,
          initialCluster: [{ name: nodeId, peerUrl: peerUrl(address, this.options.etcdPeerPort) }], initialClusterState: 'new',
        },
      };
      try {
        await this.writeIdentity({ caPem: ca.certificatePem, caKeyPem: ca.privateKeyPem, certificatePem, keyPem: privateKeyPem });
        await saveClusterKey(this.paths, clusterKey);
        this.clusterKey = { key: clusterKey, autolock: false };
        const active = await this.activate(state);
        await waitForEtcdHealthy(clientUrl('127.0.0.1', this.options.etcdClientPort), active.tls, { timeoutMs: this.limits.healthyTimeoutMs });
        const manager = newJoinTokenRecord('manager', ca.privateKeyPem);
        const worker = newJoinTokenRecord('worker', ca.privateKeyPem);
        const created = await active.store.transaction()
          .require(clusterInfoCollection, clusterInfoId, absent)
          .put(clusterInfoCollection, clusterInfoId, { clusterId, caFingerprint: certificateFingerprint(ca.certificatePem), createdAt: state.joinedAt })
          .put(hostsCollection, nodeId, this.hostRecord(state))
          .put(joinTokensCollection, 'manager', manager.record)
          .put(joinTokensCollection, 'worker', worker.record)
          .put(keyringCollection, keyringId, { kekId: clusterKey.kekId, autolock: false, lockedKek: undefined, unlockKey: undefined, rotation: undefined, updatedAt: state.joinedAt })
          .commit();
        if (!created.succeeded) throw new ClusterError(ClusterErrorCode.StateInvalid, 'The new etcd member already holds a cluster');
        await saveNodeState(this.paths, state);
        const caFingerprint = certificateFingerprint(ca.certificatePem);
        this.logger.info({ clusterId, nodeId }, 'cluster initialised');
        return {
          clusterId, nodeId,
          managerToken: formatJoinToken({ caFingerprint, secret: manager.secret }),
          workerToken: formatJoinToken({ caFingerprint, secret: worker.secret }),
        };
      } catch (error) {
        await this.deactivate();
        await wipeNodeState(this.paths);
        throw error;
      }
    });
  }

  /** The current join token for a role (managers only), or a new one that replaces it (`rotate`). */
  joinToken(role: NodeRole, rotate: boolean): Promise<string> {
    return this.exclusive(async () => {
      const active = this.requireManager();
      const ca = await this.loadCa();
      const caFingerprint = certificateFingerprint(ca.certificatePem);
      const current = await active.store.get(joinTokensCollection, role);
      if (!rotate && current !== undefined) return formatJoinToken({ caFingerprint, secret: openJoinSecret(current.value, ca.privateKeyPem) });
      const fresh = newJoinTokenRecord(role, ca.privateKeyPem);
      const { swapped } = await active.store.compareAndSwap(joinTokensCollection, role, current?.modRevision ?? absent, fresh.record);
      if (!swapped) throw new ClusterError(ClusterErrorCode.StateInvalid, `The ${role} join token was rotated concurrently; run the command again`);
      this.logger.info({ role }, 'join token rotated');
      return formatJoinToken({ caFingerprint, secret: fresh.secret });
    });
  }

  async loadCa(): Promise<ClusterCaPem> {
    this.requireManager();
    return { certificatePem: await readFile(this.paths.caCertFile, 'utf8'), privateKeyPem: await readFile(this.paths.caKeyFile, 'utf8') };
  }

  /** Stops the lease, the store client and the etcd member; the host stays in the cluster (restart resumes). */
  async close(): Promise<void> {
    await this.exclusive(() => this.deactivate());
  }

  hostRecord(state: NodeState): { nodeId: string; hostname: string; role: NodeRole; addresses: string[]; joinPort: number; joinedAt: string } {
    return { nodeId: state.nodeId, hostname: this.options.hostname, role: state.role, addresses: [state.advertiseAddress], joinPort: state.joinPort, joinedAt: state.joinedAt };
  }

  async writeIdentity(identity: { caPem: string; caKeyPem: string | undefined; certificatePem: string; keyPem: string }): Promise<void> {
    await mkdir(this.paths.clusterDir, { recursive: true, mode: 0o700 });
    await writeSecretFile(this.paths.caCertFile, identity.caPem);
    if (identity.caKeyPem !== undefined) await writeSecretFile(this.paths.caKeyFile, identity.caKeyPem);
    await writeSecretFile(this.paths.nodeCertFile, identity.certificatePem);
    await writeSecretFile(this.paths.nodeKeyFile, identity.keyPem);
  }

  memberConfig(state: NodeState): EtcdMemberConfig {
    const member = state.member;
    if (member === undefined) throw new ClusterError(ClusterErrorCode.StateInvalid, `Node ${state.nodeId} has no etcd member settings`);
    return {
      name: state.nodeId, dataDir: this.paths.etcdDataDir, advertiseAddress: state.advertiseAddress,
      clientPort: member.clientPort, peerPort: member.peerPort,
      tls: { caFile: this.paths.caCertFile, certFile: this.paths.nodeCertFile, keyFile: this.paths.nodeKeyFile },
      initialCluster: member.initialCluster, initialClusterState: member.initialClusterState, clusterToken: member.clusterToken,
      timing: this.options.timing ?? etcdTimingTuned, autoCompactionRetention: autoCompactionRetentionDefault,
      quotaBackendBytes: quotaBackendBytesDefault, logFile: this.paths.etcdLogFile, logLevel: 'warn',
    };
  }

  /** Starts (or adopts) the member on managers, opens the store client and the liveness lease. */
  async activate(state: NodeState): Promise<ActiveCluster> {
    const tls: EtcdTls = {
      caPem: await readFile(this.paths.caCertFile, 'utf8'),
      certPem: await readFile(this.paths.nodeCertFile, 'utf8'),
      keyPem: await readFile(this.paths.nodeKeyFile, 'utf8'),
    };
    let member: EtcdMember | undefined;
    const endpoints = new Set<string>();
    if (state.role === 'manager') {
      if (state.advertiseAddress !== this.options.advertiseAddress) {
        this.logger.warn({ stored: state.advertiseAddress, given: this.options.advertiseAddress }, 'keeping the advertise address this host joined with');
      }
      member = new EtcdMember({
        config: this.memberConfig(state), pidFile: this.paths.etcdPidFile, logger: this.logger,
        ...(this.options.etcdBinary === undefined ? {} : { etcdBinary: this.options.etcdBinary }),
        ...(this.options.onMemberEvent === undefined ? {} : { onEvent: this.options.onMemberEvent }),
      });
      await member.start();
      endpoints.add(clientUrl('127.0.0.1', state.member?.clientPort ?? this.options.etcdClientPort));
    }
    for (const url of state.clientUrls) endpoints.add(url);
    const kv = new EtcdKvStore({ endpoints: [...endpoints], tls, logger: this.logger });
    const store = new Store(kv, this.storeMetrics);
    const liveness = new Liveness({ store, nodeId: state.nodeId, ttlSeconds: this.options.leaseTtlSeconds ?? 10, logger: this.logger });
    liveness.start();
    this.#active = { state, tls, kv, store, member, liveness };
    return this.#active;
  }

  async deactivate(): Promise<void> {
    const active = this.#active;
    this.#active = undefined;
    zero(this.clusterKey?.key.key);
    this.clusterKey = undefined;
    if (active === undefined) return;
    await active.liveness.stop().catch(() => undefined);
    await active.kv.close().catch(() => undefined);
    await active.member?.stop();
  }

  /** A cluster dir without state.json is an init or join that never finished (e.g. killed): remove all of it. */
  async #discardUnfinished(): Promise<void> {
    const hasDir = await stat(this.paths.clusterDir).then(() => true, () => false);
    const hasState = await stat(this.paths.stateFile).then(() => true, () => false);
    if (!hasDir || hasState) return;
    this.logger.warn({ dir: this.paths.clusterDir }, 'discarding an unfinished init or join');
    for (const process of await findEtcdProcesses(this.paths.etcdDataDir)) await terminate(process.pid, 10_000);
    await wipeNodeState(this.paths);
  }

  /** Lists the join-token records' holders, for status: how many hosts, how many alive. */
  async counts(): Promise<{ hosts: number; alive: number }> {
    const active = this.requireActive();
    const [hosts, alive] = await Promise.all([active.store.list(hostsCollection), active.store.list(aliveCollection)]);
    return { hosts: hosts.entries.length, alive: alive.entries.length };
  }
}
