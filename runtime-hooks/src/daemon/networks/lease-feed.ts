import type { Logger } from '@berth/cni';
import { decodeOverlayLease, overlayPrefix, type KeyValue, type Store, type StoredLease, type WatchHandle } from '@berth/secrets';

/** Leases held in memory at most (a cluster of this many host × network pairs); beyond, new keys are ignored and logged. */
export const leasesHeldMax = 65_536;

/**
 * Every host's overlay leases as this host last saw them, kept current by one watch of `overlay/` (resumed from the
 * last revision, resynced after compaction), with listeners told after each change. The store-backed half of the
 * overlay's peer source: each leased network maps these to its peers (`peersOf`) and hands them to its controller.
 */
export class LeaseFeed {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #leases = new Map<string, StoredLease>();
  readonly #listeners = new Set<() => void>();
  #watch: WatchHandle | undefined;

  constructor(options: { store: Store; logger: Logger }) {
    this.#store = options.store;
    this.#logger = options.logger;
  }

  /** Lists, then follows from the listing's revision on. Throws when the store cannot be read (the caller retries). */
  async start(): Promise<void> {
    const { revision, kvs } = await this.#store.kv.list(overlayPrefix);
    this.#replace(kvs);
    this.#watch = this.#store.kv.watch(overlayPrefix, {
      fromRevision: (revision + 1) as typeof revision,
      onEvents: (events) => {
        for (const event of events) {
          if (event.kind === 'delete') this.#leases.delete(event.key);
          // A watch event carries no create revision: a key seen before keeps its own, a new one was created now.
          else this.#put({ key: event.key, value: event.value, modRevision: event.modRevision, createRevision: this.#leases.get(event.key)?.createRevision ?? event.modRevision, lease: undefined });
        }
        this.#notify();
      },
      onResync: (entries) => {
        this.#replace(entries);
        this.#notify();
      },
    });
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    await this.#watch?.close();
    this.#watch = undefined;
  }

  leases(): StoredLease[] {
    return [...this.#leases.values()];
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  #replace(kvs: readonly Pick<KeyValue, 'key' | 'value' | 'modRevision' | 'createRevision' | 'lease'>[]): void {
    this.#leases.clear();
    for (const kv of kvs) this.#put(kv);
  }

  /** A key that is not a lease (another version's, a hostile one) is dropped and logged. */
  #put(kv: Pick<KeyValue, 'key' | 'value' | 'modRevision' | 'createRevision' | 'lease'>): void {
    if (!this.#leases.has(kv.key) && this.#leases.size >= leasesHeldMax) {
      this.#logger.warn({ key: kv.key, held: leasesHeldMax }, 'overlay: too many leases; ignoring a new one');
      return;
    }
    const lease = decodeOverlayLease(kv);
    if (lease === undefined) {
      this.#leases.delete(kv.key);
      this.#logger.warn({ key: kv.key }, 'overlay: skipping a key that is not a lease');
      return;
    }
    this.#leases.set(kv.key, lease);
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        this.#logger.error({ err: error instanceof Error ? error.message : String(error) }, 'overlay: lease listener failed');
      }
    }
  }
}
