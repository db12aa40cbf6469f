import { mkdir, readFile, stat } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import { createLogger, type Logger } from '@berth/cni';
import type { EtcdKvStore, EtcdTls } from '../store/etcd-kv-store.js';
import { StoreMetrics } from '../store/metrics.js';
import { absent } from '../store/revision.js';
import { Store } from '../store/typed-store.js';
import type { ClusterCaPem } from './ca.js';
import { buildCrl, CrlKeeper } from './crl.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { ensureSharedRoles } from './etcd-auth.js';
import {
  autoCompactionRetentionDefault, clientUrl, etcdTimingTuned, quotaBackendBytesDefault, type EtcdMemberConfig, type EtcdTiming,
} from './etcd-config.js';
import { EtcdMember, type EtcdMemberEvent } from './etcd-member.js';
import { formatJoinToken, newJoinTokenRecord, openJoinSecret, type JoinTokenRecord } from './join-token.js';
import { aliveCollection, hostsCollection, joinTokensCollection, type HostRecord } from './keys.js';
import { Liveness } from './liveness.js';
import { loadNodeState, nodePaths, wipeNodeState, type NodePaths, type NodeState } from './node-state.js';
import { managerPeerName, nodeCertificateValiditySecondsDefault, type NodeRole } from './node-cert.js';
import { certificateFingerprint, parseCertificate } from './pki.js';
import { terminate } from './etcd-member.js';
import { findOwnEtcdProcesses } from './process-table.js';
import { CertificateRenewal } from './renewal.js';
import { assertOwnDirectory, writeFileDurably } from './secure-file.js';
import { openEtcdClient } from './server-identity.js';
import { zero, type ClusterKey } from '../secrets/crypto.js';

export interface ClusterNodeLimits {
  readonly healthyTimeoutMs: number;
  readonly joinRequestTimeoutMs: number;
  readonly promoteTimeoutMs: number;
  readonly statusTimeoutMs: number;
  /** Join-token records are read from the store at most this often (a flood of bad tokens costs no more). */
  readonly tokenRecordsCacheMs: number;
}

export const clusterNodeLimitsDefault: ClusterNodeLimits = {
  healthyTimeoutMs: 30_000, joinRequestTimeoutMs: 30_000, promoteTimeoutMs: 30_000, statusTimeoutMs: 1_500, tokenRecordsCacheMs: 1_000,
};

export interface ClusterNodeOptions {
  readonly root: string;
  readonly advertiseAddress: string;
  readonly joinPort: number;
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
  readonly hostname: string;
  readonly timing?: EtcdTiming;
  readonly leaseTtlSeconds?: number;
  /** Life of the node certificates this host issues as a manager (default 90 days). */
  readonly certificateValiditySeconds?: number;
  readonly etcdBinary?: string;
  readonly limits?: Partial<ClusterNodeLimits>;
  readonly logger?: Logger;
  readonly onMemberEvent?: (event: EtcdMemberEvent) => void;
}

/** What a host that is in a cluster runs: its identity, its store client, its etcd member (managers), its lease. */
export interface ActiveCluster {
  readonly state: NodeState;
  /** The node identity: its certificate is renewed in place (files, store client, join endpoint). */
  readonly tls: EtcdTls;
  /** Managers: the `<nodeId>.admin` certificate (same key), for membership and auth changes only. */
  readonly adminCertPem: string | undefined;
  readonly endpoints: readonly string[];
  readonly kv: EtcdKvStore;
  readonly store: Store;
  readonly member: EtcdMember | undefined;
  readonly liveness: Liveness;
}

export interface Identity {
  readonly caPem: string;
  readonly caKeyPem: string | undefined;
  readonly certificatePem: string;
  readonly adminCertificatePem: string | undefined;
  readonly keyPem: string;
}

/**
 * One host's membership in a Berth cluster, as Docker swarm models it: `init` (init-flow) makes the CA and the first
 * manager, joins go through a manager's join endpoint, `leave` removes the etcd member before stopping it. The
 * on-disk state (`$BERTH_ROOT/cluster/state.json`) is written last, so a crash mid-way leaves nothing that looks
 * joined; `open` wipes such leftovers.
 */
export class ClusterNode {
  readonly options: ClusterNodeOptions;
  readonly paths: NodePaths;
  readonly limits: ClusterNodeLimits;
  readonly logger: Logger;
  readonly storeMetrics = new StoreMetrics();
  readonly #identityListeners = new Set<(tls: EtcdTls) => void>();
  #active: ActiveCluster | undefined;
  #crlKeeper: CrlKeeper | undefined;
  #renewal: CertificateRenewal | undefined;
  #tokenRecords: { readAtMs: number; records: Promise<JoinTokenRecord[]> } | undefined;
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
    await assertOwnDirectory(options.root, { private: false });
    await assertOwnDirectory(node.paths.clusterDir, { private: true });
    await node.#discardUnfinished();
    const state = await loadNodeState(node.paths);
    if (state !== undefined) await node.activate(state);
    if (state?.role === 'manager') {
      void node.reconcileSharedRoles().catch((error: unknown) => node.logger.warn({ err: String(error) }, 'cannot bring the shared etcd roles up to date yet'));
    }
    return node;
  }

  get active(): ActiveCluster | undefined { return this.#active; }

  get certificateValiditySeconds(): number { return this.options.certificateValiditySeconds ?? nodeCertificateValiditySecondsDefault; }

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

  /** Called with the new identity after every certificate renewal (e.g. the join endpoint's serving certificate). */
  onIdentityRenewed(listener: (tls: EtcdTls) => void): () => void {
    this.#identityListeners.add(listener);
    return () => this.#identityListeners.delete(listener);
  }

  /** The join-token records, read from the store at most once per `tokenRecordsCacheMs`. */
  joinTokenRecords(): Promise<JoinTokenRecord[]> {
    const cached = this.#tokenRecords;
    if (cached !== undefined && Date.now() - cached.readAtMs < this.limits.tokenRecordsCacheMs) return cached.records;
    const records = this.requireManager().store.list(joinTokensCollection).then((listing) => listing.entries.map((entry) => entry.value));
    this.#tokenRecords = { readAtMs: Date.now(), records };
    records.catch(() => { if (this.#tokenRecords?.records === records) this.#tokenRecords = undefined; });
    return records;
  }

  /** The current join token for a role (managers only), or a new one that replaces it (`rotate`, or a `ttlSeconds`). */
  joinToken(role: NodeRole, options: { rotate: boolean; ttlSeconds?: number | undefined }): Promise<string> {
    return this.exclusive(async () => {
      const active = this.requireManager();
      const ca = await this.loadCa();
      const caFingerprint = certificateFingerprint(ca.certificatePem);
      const current = await active.store.get(joinTokensCollection, role);
      if (!options.rotate && options.ttlSeconds === undefined && current !== undefined) {
        const { expiresAt } = current.value;
        if (expiresAt !== undefined && Date.parse(expiresAt) <= Date.now()) {
          throw new ClusterError(ClusterErrorCode.TokenRejected, `The ${role} join token expired at ${expiresAt}; issue a new one with --rotate or --ttl`);
        }
        return formatJoinToken({ caFingerprint, secret: openJoinSecret(current.value, ca.privateKeyPem) });
      }
      const fresh = newJoinTokenRecord(role, ca.privateKeyPem, options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds });
      const { swapped } = await active.store.compareAndSwap(joinTokensCollection, role, current?.modRevision ?? absent, fresh.record);
      if (!swapped) throw new ClusterError(ClusterErrorCode.StateInvalid, `The ${role} join token was rotated concurrently; run the command again`);
      this.#tokenRecords = undefined;
      this.logger.info({ role, expiresAt: fresh.record.expiresAt }, 'join token rotated');
      return formatJoinToken({ caFingerprint, secret: fresh.secret });
    });
  }

  async loadCa(): Promise<ClusterCaPem> {
    this.requireManager();
    return { certificatePem: await readFile(this.paths.caCertFile, 'utf8'), privateKeyPem: await readFile(this.paths.caKeyFile, 'utf8') };
  }

  /**
   * Runs `work` with a short-lived client holding this manager's admin identity (etcd's root role): member
   * add/remove/promote and users/roles. Everyday store traffic never carries that power.
   */
  async withAdmin<T>(work: (client: Etcd3, kv: EtcdKvStore) => Promise<T>, endpoints?: readonly string[]): Promise<T> {
    const active = this.requireManager();
    if (active.adminCertPem === undefined) throw new ClusterError(ClusterErrorCode.StateInvalid, `Manager ${active.state.nodeId} has no admin certificate`);
    const admin = openEtcdClient({
      endpoints: endpoints ?? active.endpoints, tls: { ...active.tls, certPem: active.adminCertPem },
      limits: { requestTimeoutMs: 5_000 }, hostFailover: 'none', logger: this.logger,
    });
    try {
      return await work(admin.client, admin);
    } finally {
      await admin.close();
    }
  }

  /** Stops the lease, the store client and the etcd member; the host stays in the cluster (restart resumes). */
  async close(): Promise<void> {
    await this.exclusive(() => this.deactivate());
  }

  hostRecord(state: NodeState, certificatePem: string): HostRecord {
    return {
      nodeId: state.nodeId, hostname: this.options.hostname, role: state.role, addresses: [state.advertiseAddress], joinPort: state.joinPort, joinedAt: state.joinedAt,
      certificateExpiresAt: new Date(parseCertificate(certificatePem, 'node certificate').validTo).toISOString(),
    };
  }

  async writeIdentity(identity: Identity): Promise<void> {
    await mkdir(this.paths.clusterDir, { recursive: true, mode: 0o700 });
    await assertOwnDirectory(this.paths.clusterDir, { private: true });
    await writeFileDurably(this.paths.caCertFile, identity.caPem);
    if (identity.caKeyPem !== undefined) await writeFileDurably(this.paths.caKeyFile, identity.caKeyPem);
    await writeFileDurably(this.paths.nodeKeyFile, identity.keyPem);
    await writeFileDurably(this.paths.nodeCertFile, identity.certificatePem);
    if (identity.adminCertificatePem !== undefined) await writeFileDurably(this.paths.adminCertFile, identity.adminCertificatePem);
  }

  /**
   * Swaps in a renewed certificate (same key): the files first (etcd reads its serving certificate from them at every
   * handshake), then the store client (new connections use it; open ones go on), then the listeners.
   */
  async installRenewed(renewed: { certificatePem: string; adminCertificatePem: string | undefined }): Promise<void> {
    const active = this.requireActive();
    await writeFileDurably(this.paths.nodeCertFile, renewed.certificatePem);
    if (renewed.adminCertificatePem !== undefined) await writeFileDurably(this.paths.adminCertFile, renewed.adminCertificatePem);
    const tls = { ...active.tls, certPem: renewed.certificatePem };
    active.kv.updateIdentity(tls);
    if (this.#active === active) this.#active = { ...active, tls, adminCertPem: renewed.adminCertificatePem ?? active.adminCertPem };
    for (const listener of this.#identityListeners) listener(tls);
    await active.store.put(hostsCollection, active.state.nodeId, this.hostRecord(active.state, renewed.certificatePem));
  }

  memberConfig(state: NodeState): EtcdMemberConfig {
    const member = state.member;
    if (member === undefined) throw new ClusterError(ClusterErrorCode.StateInvalid, `Node ${state.nodeId} has no etcd member settings`);
    return {
      name: state.nodeId, dataDir: this.paths.etcdDataDir, advertiseAddress: state.advertiseAddress,
      clientPort: member.clientPort, peerPort: member.peerPort,
      tls: {
        caFile: this.paths.caCertFile, certFile: this.paths.nodeCertFile, keyFile: this.paths.nodeKeyFile, crlFile: this.paths.crlFile,
        peerAllowedName: managerPeerName(state.clusterId),
      },
      initialCluster: member.initialCluster, initialClusterState: member.initialClusterState, clusterToken: member.clusterToken,
      timing: this.options.timing ?? etcdTimingTuned, autoCompactionRetention: autoCompactionRetentionDefault,
      quotaBackendBytes: quotaBackendBytesDefault, logFile: this.paths.etcdLogFile, logLevel: 'warn',
    };
  }

  /** Starts (or adopts) the member on managers, opens the store client, the liveness lease, the CRL and renewal. */
  async activate(state: NodeState): Promise<ActiveCluster> {
    const manager = state.role === 'manager';
    const tls: EtcdTls = {
      caPem: await readFile(this.paths.caCertFile, 'utf8'),
      certPem: await readFile(this.paths.nodeCertFile, 'utf8'),
      keyPem: await readFile(this.paths.nodeKeyFile, 'utf8'),
    };
    const adminCertPem = manager ? await readFile(this.paths.adminCertFile, 'utf8') : undefined;
    let member: EtcdMember | undefined;
    const endpoints = new Set<string>();
    if (manager) {
      if (state.advertiseAddress !== this.options.advertiseAddress) {
        this.logger.warn({ stored: state.advertiseAddress, given: this.options.advertiseAddress }, 'keeping the advertise address this host joined with');
      }
      // etcd refuses every connection while its CRL file is missing: start with an empty one, the keeper fills it.
      if (!(await stat(this.paths.crlFile).then(() => true, () => false))) await writeFileDurably(this.paths.crlFile, await buildCrl(await this.#loadCaFiles(), []));
      member = new EtcdMember({
        config: this.memberConfig(state), pidFile: this.paths.etcdPidFile, logger: this.logger,
        ...(this.options.etcdBinary === undefined ? {} : { etcdBinary: this.options.etcdBinary }),
        ...(this.options.onMemberEvent === undefined ? {} : { onEvent: this.options.onMemberEvent }),
      });
      await member.start();
      endpoints.add(clientUrl('127.0.0.1', state.member?.clientPort ?? this.options.etcdClientPort));
    }
    for (const url of state.clientUrls) endpoints.add(url);
    const kv = openEtcdClient({ endpoints: [...endpoints], tls, logger: this.logger });
    const store = new Store(kv, this.storeMetrics);
    const liveness = new Liveness({ store, nodeId: state.nodeId, ttlSeconds: this.options.leaseTtlSeconds ?? 10, logger: this.logger });
    liveness.start();
    this.#active = { state, tls, adminCertPem, endpoints: [...endpoints], kv, store, member, liveness };
    this.#renewal = new CertificateRenewal({ node: this, logger: this.logger });
    this.#renewal.start();
    if (manager) this.#startManagerServices(store);
    return this.#active;
  }

  /** CRL kept equal to the denylist; shared roles brought to what the access table says now. Retried by restarts. */
  #startManagerServices(store: Store): void {
    const keeper = new CrlKeeper({ store, file: this.paths.crlFile, loadCa: () => this.#loadCaFiles(), logger: this.logger });
    this.#crlKeeper = keeper;
    void keeper.start();
  }

  /** For init and managers' start: the shared roles as the access table says now (admin identity). */
  async reconcileSharedRoles(): Promise<void> {
    await this.withAdmin((client) => ensureSharedRoles(client));
  }

  async revocationsChanged(): Promise<void> {
    await this.#crlKeeper?.refresh();
  }

  async #loadCaFiles(): Promise<ClusterCaPem> {
    return { certificatePem: await readFile(this.paths.caCertFile, 'utf8'), privateKeyPem: await readFile(this.paths.caKeyFile, 'utf8') };
  }

  async deactivate(): Promise<void> {
    const active = this.#active;
    this.#active = undefined;
    zero(this.clusterKey?.key.key);
    this.clusterKey = undefined;
    this.#tokenRecords = undefined;
    if (active === undefined) return;
    this.#renewal?.stop();
    this.#renewal = undefined;
    await this.#crlKeeper?.close().catch(() => undefined);
    this.#crlKeeper = undefined;
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
    const binary = this.options.etcdBinary ?? '/usr/bin/etcd';
    for (const process of await findOwnEtcdProcesses(this.paths.etcdDataDir, binary)) await terminate(process, 10_000);
    await wipeNodeState(this.paths);
  }

  /** How many hosts, how many alive (for metrics). */
  async counts(): Promise<{ hosts: number; alive: number }> {
    const active = this.requireActive();
    const [hosts, alive] = await Promise.all([active.store.list(hostsCollection), active.store.list(aliveCollection)]);
    return { hosts: hosts.entries.length, alive: alive.entries.length };
  }
}
