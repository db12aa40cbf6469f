import type { OverlayPeer, OverlayPeerSource } from './peer.js';

/** At most this many watchers per source: each is a controller of one network on one host. */
export const watchersMax = 64;

/**
 * Peer source (b) as the agent fills it: it holds the latest peer list and tells its watchers about every change.
 * The agent's store watcher calls `set` with the hosts' VTEP records and subnet leases of one network; tests use it
 * the same way. Watchers are called synchronously, in registration order; one that throws does not stop the others.
 */
export class MemoryPeerSource implements OverlayPeerSource {
  #peers: readonly OverlayPeer[];
  readonly #watchers = new Set<(peers: readonly OverlayPeer[]) => void>();

  constructor(peers: readonly OverlayPeer[] = []) {
    this.#peers = [...peers];
  }

  async list(): Promise<readonly OverlayPeer[]> {
    return this.#peers;
  }

  /** Replaces the whole list and notifies every watcher. */
  set(peers: readonly OverlayPeer[]): void {
    this.#peers = [...peers];
    const failures: unknown[] = [];
    for (const watcher of [...this.#watchers]) {
      try {
        watcher(this.#peers);
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} overlay peer watcher(s) failed`);
  }

  watch(onChange: (peers: readonly OverlayPeer[]) => void): () => void {
    if (this.#watchers.size >= watchersMax) throw new RangeError(`MemoryPeerSource: more than ${watchersMax} watchers`);
    this.#watchers.add(onChange);
    return () => { this.#watchers.delete(onChange); };
  }
}
