import {
  MemoryPeerSource, OverlayController, describeDiff, isEmptyDiff, parseCidr, parseIp, removeOverlayHost, vtepMac, withRtnl,
  type Logger, type OverlayNetwork,
} from '@berth/cni';
import { claimHostSubnet, type Lease, type Liveness, type NetworkRecord, type OverlayLeaseRecord, type Store, type Versioned } from '@berth/secrets';
import type { HostPart } from '../../networks/conflist.js';
import type { LeaseFeed } from './lease-feed.js';
import { overlayPeersOf } from './overlay-peers.js';

/** How long a lease key outlives a berthd stopped cleanly (not leaving): a restart within it keeps every route. */
export const stopGraceSeconds = 30;
/** How long a stopping berthd spends handing its lease keys over. */
export const handOverMsMax = 2_000;

export interface OverlayMemberOptions {
  readonly store: Store;
  readonly liveness: Liveness;
  readonly feed: LeaseFeed;
  readonly nodeId: string;
  readonly hostname: string;
  /** This host's VTEP address: its advertise (underlay) address. */
  readonly vtep: string;
  readonly record: Versioned<NetworkRecord>;
  readonly network: OverlayNetwork;
  /** The subnet this host held before (from its conflist), kept if still free. */
  readonly preferredSubnet: string | undefined;
  /** Called when a lease taken again (after the liveness lease was lost) has another subnet: the conflist must follow. */
  readonly onSubnetChanged: () => void;
  readonly logger: Logger;
}

/**
 * This host in one leased overlay network (Flannel's flanneld for one network): it leases a subnet under the
 * host's liveness lease (again under each new liveness lease), publishes its VTEP address and MAC with it, and keeps
 * the overlay controller fed with the other hosts' leases, so their FDB, neighbour and route entries follow every
 * join and leave. Entries in place are only ever diffed, never flushed: a restart resyncs without a gap.
 */
export class OverlayMember {
  readonly #options: OverlayMemberOptions;
  readonly #source = new MemoryPeerSource();
  #lease: OverlayLeaseRecord | undefined;
  #controller: OverlayController | undefined;
  #unsubscribe: Array<() => void> = [];
  #claiming: Promise<void> = Promise.resolve();
  #stopped = false;
  /** For /metrics: peers in the list last handed to the controller, and syncs that failed. */
  peers = 0;
  syncFailures = 0;

  constructor(options: OverlayMemberOptions) {
    this.#options = options;
  }

  get record(): Versioned<NetworkRecord> { return this.#options.record; }

  /** This host's subnet and VTEP, once leased: what its conflist carries. */
  get hostPart(): HostPart | undefined {
    return this.#lease === undefined ? undefined : { subnet: this.#lease.subnet, vtep: this.#lease.vtep };
  }

  /** Leases (throws if the store cannot), then starts the controller with every peer known now and follows changes. */
  async start(): Promise<void> {
    const { logger, network, feed, liveness } = this.#options;
    await this.#claim();
    this.#unsubscribe.push(feed.onChange(() => this.#publish()));
    this.#unsubscribe.push(liveness.onLease(() => { void this.#reclaim(); }));
    this.#publish();
    const controller = new OverlayController({
      network, source: this.#source, localAddress: parseIp(this.#options.vtep),
      onSync: (report) => {
        if (report.diff !== undefined && !isEmptyDiff(report.diff)) logger.info({ network: network.name, change: describeDiff(report.diff) }, 'overlay: peers programmed');
      },
      onError: (error) => {
        this.syncFailures += 1;
        logger.warn({ network: network.name, err: error instanceof Error ? error.message : String(error) }, 'overlay: cannot program peers; the next change retries');
      },
    });
    let report;
    try {
      report = await controller.start();
    } catch (error) {
      for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
      throw error;
    }
    this.#controller = controller;
    logger.info({ network: network.name, subnet: this.#lease?.subnet, peers: report.diff === undefined ? '' : describeDiff(report.diff) }, 'overlay: this host is in the network');
  }

  /**
   * Stops following. `teardown` (the network was removed, or this host left the cluster): the host's subnet is no
   * longer its own, so the VXLAN device, its peer routes and an idle bridge go too. Otherwise (berthd stopping) the
   * lease key is handed to a lease nobody keeps alive, of `stopGraceSeconds`: berthd's liveness lease is revoked as
   * it stops, and without this every other host would drop its routes here until the restart; a host that does not
   * come back within the grace loses its subnet as if it had died.
   */
  async stop(options: { teardown: boolean }): Promise<void> {
    this.#stopped = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#claiming;
    await this.#controller?.stop();
    this.#controller = undefined;
    if (options.teardown) await withRtnl(undefined, (rtnl) => removeOverlayHost(rtnl, undefined, this.#options.network));
    else if (this.#lease !== undefined) await this.#handOver();
  }

  /** Bounded by `handOverMsMax`: a berthd stopping while the store is unreachable does not wait on it. */
  async #handOver(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${handOverMsMax} ms`)), handOverMsMax); });
    let grace: Lease | undefined;
    try {
      await Promise.race([(async () => {
        grace = await this.#options.store.grantLease(stopGraceSeconds);
        await this.#claimUnder(grace);
      })(), timeout]);
    } catch (error) {
      this.#options.logger.warn({ network: this.#options.network.name, err: error instanceof Error ? error.message : String(error) }, 'overlay: cannot keep the lease over the restart; peers drop this host until it is back');
    } finally {
      clearTimeout(timer);
      grace?.release();
    }
  }

  async #claim(): Promise<void> {
    const lease = this.#options.liveness.lease;
    if (lease === undefined) throw new Error('this host holds no liveness lease yet');
    await this.#claimUnder(lease);
  }

  /** Claims under `lease`, keeping the subnet held last (or, at start, the one this host's conflist names) when free. */
  async #claimUnder(lease: Lease): Promise<void> {
    const { store, nodeId, hostname, vtep, record, network } = this.#options;
    const preferred = this.#lease?.subnet ?? this.#options.preferredSubnet;
    this.#lease = await claimHostSubnet(store, {
      nodeId, network: record, vtep, mac: vtepMac(network.vni, parseIp(vtep)), hostname, lease, preferred: preferred === undefined ? undefined : parseCidr(preferred),
    });
    if (preferred !== undefined && this.#lease.subnet !== preferred) {
      this.#options.logger.warn({ network: network.name, was: preferred, now: this.#lease.subnet }, 'overlay: this host\'s old subnet was taken; containers attached before keep addresses others no longer route here');
    }
  }

  /** A new liveness lease (the old one was lost): the lease key goes under it, keeping the subnet when still free. */
  #reclaim(): Promise<void> {
    this.#claiming = this.#claiming.then(async () => {
      for (let attempt = 1; !this.#stopped && attempt <= 5; attempt += 1) {
        try {
          const before = this.#lease?.subnet;
          await this.#claim();
          this.#publish();
          if (this.#lease?.subnet !== before) this.#options.onSubnetChanged();
          return;
        } catch (error) {
          this.#options.logger.warn({ network: this.#options.network.name, attempt, err: error instanceof Error ? error.message : String(error) }, 'overlay: cannot lease again yet');
          await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        }
      }
    });
    return this.#claiming;
  }

  #publish(): void {
    if (this.#stopped || this.#lease === undefined) return;
    const { peers, skipped } = overlayPeersOf(this.#options.record.value, this.#options.feed.leases(), { nodeId: this.#options.nodeId, lease: this.#lease });
    if (skipped > 0) this.#options.logger.warn({ network: this.#options.network.name, skipped }, 'overlay: leases left out (their subnet, VTEP address or MAC is held by an older lease)');
    this.peers = peers.length;
    this.#source.set(peers);
  }
}
