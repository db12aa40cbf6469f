import type { IpAddress } from '../net/ip.js';
import { openRtnl } from '../net/rtnl.js';
import type { OverlayNetwork } from './network.js';
import type { OverlayPeer, OverlayPeerSource } from './peer.js';
import { reconcileOverlay, type ReconcileReport } from './reconcile.js';

/** Syncs one drain runs back to back before it yields to the event loop (a source changing without pause). */
export const syncsPerDrainMax = 100;

export interface OverlayControllerOptions {
  readonly network: OverlayNetwork;
  readonly source: OverlayPeerSource;
  /** The host's netns; default: this process's. */
  readonly netnsPath?: string;
  readonly localAddress?: IpAddress;
  /** Called after each sync that ran (the agent logs and counts these). */
  readonly onSync?: (report: ReconcileReport) => void;
  /** Called when a sync triggered by the source fails; the next change is tried again from scratch. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Keeps one host's part of one overlay network in line with a peer source: the agent runs one per network, fed by
 * the cluster store. Changes are applied one at a time; while one sync runs, later changes collapse into the newest
 * list, so a burst of joins costs one more sync, not one per join.
 */
export class OverlayController {
  readonly #options: OverlayControllerOptions;
  #unwatch: (() => void) | undefined;
  #pending: readonly OverlayPeer[] | undefined;
  #running: Promise<void> | undefined;

  constructor(options: OverlayControllerOptions) {
    this.#options = options;
  }

  /**
   * Syncs with the source's current list (failures throw), then follows its changes. A change that arrived while
   * the first sync ran (before the watch) is caught by listing again once watching, so none is lost.
   */
  async start(): Promise<ReconcileReport> {
    if (this.#unwatch !== undefined) throw new Error(`OverlayController for ${this.#options.network.name} is already started`);
    const first = await this.#options.source.list();
    const report = await this.sync(first);
    this.#unwatch = this.#options.source.watch((peers) => this.#enqueue(peers));
    const now = await this.#options.source.list();
    if (now !== first) this.#enqueue(now);
    return report;
  }

  /** Stops following the source and waits for a sync in progress to finish. */
  async stop(): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#pending = undefined;
    await this.idle();
  }

  /** Resolves when no sync is running or queued. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** One reconciliation with `peers`, now (after any running one). */
  async sync(peers: readonly OverlayPeer[]): Promise<ReconcileReport> {
    await this.idle();
    return this.#syncNow(peers);
  }

  async #syncNow(peers: readonly OverlayPeer[]): Promise<ReconcileReport> {
    const { network, netnsPath, localAddress } = this.#options;
    const rtnl = openRtnl(netnsPath);
    try {
      const report = await reconcileOverlay(rtnl, netnsPath, network, peers, localAddress);
      this.#options.onSync?.(report);
      return report;
    } finally {
      rtnl.close();
    }
  }

  #enqueue(peers: readonly OverlayPeer[]): void {
    this.#pending = peers;
    this.#running ??= this.#drain().finally(() => { this.#running = undefined; });
  }

  async #drain(): Promise<void> {
    for (let count = 0; this.#pending !== undefined; count += 1) {
      if (count === syncsPerDrainMax) {
        count = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const peers = this.#pending;
      this.#pending = undefined;
      try {
        await this.#syncNow(peers);
      } catch (error) {
        this.#options.onError?.(error);
      }
    }
  }
}
