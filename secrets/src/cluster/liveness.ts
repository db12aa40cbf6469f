import type { Logger } from '@berth/cni';
import type { Lease } from '../store/kv-store.js';
import type { Store } from '../store/typed-store.js';
import { aliveCollection } from './keys.js';

export const livenessRetryMsInitial = 200;
export const livenessRetryMsMax = 5_000;

/**
 * Keeps `/berth/v1/cluster/alive/<nodeId>` present under an etcd lease while this berthd runs: if berthd dies the
 * lease expires after its TTL and the key goes with it. A lost lease (etcd unreachable longer than the TTL) is
 * re-granted with capped backoff.
 */
export class Liveness {
  readonly #store: Store;
  readonly #nodeId: string;
  readonly #ttlSeconds: number;
  readonly #logger: Logger;
  #lease: Lease | undefined;
  readonly #leaseListeners = new Set<(lease: Lease) => void>();
  #stopped = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: { store: Store; nodeId: string; ttlSeconds: number; logger: Logger }) {
    this.#store = options.store;
    this.#nodeId = options.nodeId;
    this.#ttlSeconds = options.ttlSeconds;
    this.#logger = options.logger;
  }

  get holding(): boolean { return this.#lease !== undefined; }

  /** The lease this host's liveness key is under now (undefined while it is being re-granted). */
  get lease(): Lease | undefined { return this.#lease; }

  /**
   * Called with each lease once the liveness key is under it (a re-grant after a loss included): keys bound to this
   * host's liveness (its overlay leases) are put again under the new one. Returns the function that stops it.
   */
  onLease(listener: (lease: Lease) => void): () => void {
    this.#leaseListeners.add(listener);
    return () => { this.#leaseListeners.delete(listener); };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Revokes the lease (the key disappears at once), waiting at most `timeoutMs`. */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease !== undefined) {
      await Promise.race([lease.revoke().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      lease.release();
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    let retryMs = livenessRetryMsInitial;
    while (!this.#stopped) {
      try {
        const lease = await this.#store.grantLease(this.#ttlSeconds);
        if (this.#stopped) {
          await lease.revoke().catch(() => undefined);
          return;
        }
        this.#lease = lease;
        await this.#store.put(aliveCollection, this.#nodeId, { nodeId: this.#nodeId, pid: process.pid, since: new Date().toISOString() }, { lease });
        retryMs = livenessRetryMsInitial;
        for (const listener of [...this.#leaseListeners]) listener(lease);
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          lease.onLost((error) => {
            this.#logger.warn({ err: error.message }, 'liveness lease lost; re-granting');
            resolve();
          });
        });
        if (this.#lease === lease) this.#lease = undefined;
      } catch (error) {
        this.#logger.warn({ err: error instanceof Error ? error.message : String(error), retryMs }, 'cannot hold the liveness lease yet');
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, retryMs).unref();
        });
        retryMs = Math.min(livenessRetryMsMax, retryMs * 2);
      }
    }
  }
}
