import type { Logger } from '@berth/cni';
import { networksCollection, type ActiveCluster, type NetworkRecord, type Versioned, type WatchHandle } from '@berth/secrets';
import { readNetworks, removeConflistFile, writeConflistFile, type NetworkFile } from '../../networks/conf-dir.js';
import { clusterConflist, isClusterConflist, isLeasedNetwork, plugins } from '../../networks/conflist.js';
import type { Sample } from '../metrics.js';
import { LeaseFeed } from './lease-feed.js';
import { OverlayMember } from './overlay-member.js';
import { overlayNetworkOf } from './overlay-peers.js';

/** Back-off between reconcile attempts that failed (store unreachable, a lease not yet granted), capped. */
export const reconcileRetryMsInitial = 250;
export const reconcileRetryMsMax = 5_000;

export interface NetworkSyncOptions {
  readonly active: ActiveCluster;
  readonly hostname: string;
  readonly confDir: string;
  /** Plugin types installed beside the driver (berth-portmap, berth-firewall are chained when present). */
  readonly available: ReadonlySet<string>;
  readonly logger: Logger;
}

/**
 * One host following the cluster's networks (while it is in a cluster): it watches `networks/`, writes each network's
 * conflist into its CNI config directory and removes those of networks that are gone, and for each leased vxlan
 * network runs an OverlayMember (subnet lease, VTEP record, peer entries) before writing that conflist, so a plugin
 * call never finds a leased network without this host's subnet. Conflists it did not write (no cluster marker) are
 * never touched. Changes are reconciled one at a time; a failed pass is retried with back-off.
 */
export class NetworkSync {
  readonly #options: NetworkSyncOptions;
  readonly #records = new Map<string, Versioned<NetworkRecord>>();
  readonly #members = new Map<string, OverlayMember>();
  readonly #feed: LeaseFeed;
  readonly #warned = new Set<string>();
  #watch: WatchHandle | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pending = false;
  #retryMs = reconcileRetryMsInitial;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: NetworkSyncOptions) {
    this.#options = options;
    this.#feed = new LeaseFeed({ store: options.active.store, logger: options.logger });
  }

  /** Reads the networks and the leases (throws if the store cannot be read yet), then follows both. */
  async start(): Promise<void> {
    const { store } = this.#options.active;
    await this.#feed.start();
    const { revision, entries } = await store.list(networksCollection);
    for (const entry of entries) this.#records.set(entry.id, entry);
    this.#watch = store.watch(networksCollection, {
      fromRevision: (revision + 1) as typeof revision,
      onChanges: (changes) => {
        for (const change of changes) {
          if (change.kind === 'delete') this.#records.delete(change.id);
          else this.#records.set(change.id, { id: change.id, value: change.value, modRevision: change.modRevision, createRevision: this.#records.get(change.id)?.createRevision ?? change.modRevision });
        }
        this.#schedule();
      },
      onResync: (resynced) => {
        this.#records.clear();
        for (const entry of resynced) this.#records.set(entry.id, entry);
        this.#schedule();
      },
    });
    await this.#reconcileNow();
  }

  /**
   * Stops following. `leaving` (this host left the cluster): the cluster's conflists and overlay devices go, since its
   * subnets are no longer its own. Otherwise (berthd stopping) everything stays in place for the next start.
   */
  async stop(options: { leaving: boolean }): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    await this.#watch?.close();
    await this.#feed.close();
    await this.#queue;
    for (const [name, member] of this.#members) {
      await member.stop({ teardown: options.leaving }).catch((error: unknown) => this.#warn(name, 'cannot take the overlay down', error));
    }
    this.#members.clear();
    if (options.leaving) for (const file of this.#managedFiles()) removeConflistFile(file.file);
  }

  /** Per network: `ready` when its conflist is written here (a leased network: with this host's subnet). */
  status(): Array<{ name: string; driver: string; subnet: string | undefined; ready: boolean }> {
    const written = new Set(this.#managedFiles().map((file) => file.name));
    return [...this.#records.values()].map((entry) => ({
      name: entry.id, driver: entry.value.driver, subnet: this.#members.get(entry.id)?.hostPart?.subnet, ready: written.has(entry.id),
    }));
  }

  /** Counts for /metrics: networks followed, conflists written, and per leased network this host's lease and peers. */
  metrics(): Sample[] {
    const members = [...this.#members.entries()];
    return [
      { name: 'berth_networks', help: 'cluster networks this host follows', type: 'gauge', values: [{ value: this.#records.size }] },
      { name: 'berth_network_conflists', help: 'cluster networks whose conflist is written on this host', type: 'gauge', values: [{ value: this.#managedFiles().length }] },
      { name: 'berth_overlay_peers', help: 'hosts (this one included) in the peer list of a leased overlay network', type: 'gauge', values: members.map(([network, member]) => ({ labels: { network }, value: member.peers })) },
      { name: 'berth_overlay_sync_failures_total', help: 'overlay peer programming that failed (retried at the next change)', type: 'counter', values: members.map(([network, member]) => ({ labels: { network }, value: member.syncFailures })) },
    ];
  }

  #schedule(): void {
    if (this.#stopped || this.#pending) return;
    this.#pending = true;
    this.#queue = this.#queue.then(async () => {
      this.#pending = false;
      await this.#reconcileNow();
    });
  }

  async #reconcileNow(): Promise<void> {
    if (this.#stopped) return;
    let failed = false;
    const files = new Map(readNetworks(this.#options.confDir).map((file) => [file.name, file]));
    for (const [name, member] of this.#members) {
      const record = this.#records.get(name);
      if (record === undefined || record.modRevision !== member.record.modRevision) {
        this.#members.delete(name);
        await member.stop({ teardown: true }).catch((error: unknown) => { failed = true; this.#warn(name, 'cannot take the overlay down', error); });
      }
    }
    for (const file of files.values()) {
      if (isClusterConflist(file.conflist) && !this.#records.has(file.name)) {
        removeConflistFile(file.file);
        this.#options.logger.info({ network: file.name, file: file.file }, 'network removed from the cluster: conflist removed');
      }
    }
    for (const record of this.#records.values()) {
      try {
        await this.#apply(record, files.get(record.id));
      } catch (error) {
        failed = true;
        this.#warn(record.id, 'cannot apply the network yet', error);
      }
    }
    if (failed) this.#retryLater();
    else this.#retryMs = reconcileRetryMsInitial;
  }

  /** One network on this host: its overlay member first (leased vxlan), then its conflist when it differs. */
  async #apply(record: Versioned<NetworkRecord>, file: NetworkFile | undefined): Promise<void> {
    const { active, confDir, available, logger } = this.#options;
    if (file !== undefined && !isClusterConflist(file.conflist)) {
      this.#warn(record.id, `a conflist of this host's own has the same name (${file.file}); the cluster's network is not written here`);
      return;
    }
    const clusterId = active.state.clusterId;
    let host;
    if (isLeasedNetwork(record.value)) {
      let member = this.#members.get(record.id);
      if (member === undefined) {
        const unleased = clusterConflist(record.value, { clusterId, available, host: { subnet: record.value.subnets[0] ?? '', vtep: active.state.advertiseAddress } });
        member = new OverlayMember({
          store: active.store, liveness: active.liveness, feed: this.#feed, nodeId: active.state.nodeId, hostname: this.#options.hostname,
          vtep: active.state.advertiseAddress, record, network: overlayNetworkOf(unleased), preferredSubnet: hostSubnetOf(file), logger,
          onSubnetChanged: () => this.#schedule(),
        });
        await member.start();
        this.#members.set(record.id, member);
      }
      host = member.hostPart;
    }
    const conflist = clusterConflist(record.value, { clusterId, available, host });
    if (file !== undefined && JSON.stringify(file.conflist) === JSON.stringify(conflist)) return;
    const written = writeConflistFile(confDir, record.id, conflist);
    for (const key of [...this.#warned]) if (key.startsWith(`${record.id}: `)) this.#warned.delete(key);
    logger.info({ network: record.id, file: written, subnet: host?.subnet }, 'cluster network: conflist written');
  }

  #retryLater(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#schedule();
    }, this.#retryMs);
    this.#retryMs = Math.min(reconcileRetryMsMax, this.#retryMs * 2);
  }

  #managedFiles(): NetworkFile[] {
    return readNetworks(this.#options.confDir).filter((file) => isClusterConflist(file.conflist));
  }

  #warn(network: string, what: string, error?: unknown): void {
    const key = `${network}: ${what}`;
    if (error === undefined && this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#options.logger.warn({ network, ...(error === undefined ? {} : { err: error instanceof Error ? error.message : String(error) }) }, what);
  }
}

function hostSubnetOf(file: NetworkFile | undefined): string | undefined {
  const subnet = file === undefined ? undefined : plugins(file.conflist)[0]?.['hostSubnet'];
  return typeof subnet === 'string' ? subnet : undefined;
}
