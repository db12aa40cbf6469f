import type { OverlayPeer, OverlayPeerSource } from './peer.js';

/** Peer source (a): the `peers` list of the conflist. It never changes while a plugin call runs, so watch is a no-op. */
export class StaticPeerSource implements OverlayPeerSource {
  readonly #peers: readonly OverlayPeer[];

  constructor(peers: readonly OverlayPeer[]) {
    this.#peers = [...peers];
  }

  async list(): Promise<readonly OverlayPeer[]> {
    return this.#peers;
  }

  watch(_onChange: (peers: readonly OverlayPeer[]) => void): () => void {
    return () => undefined;
  }
}
