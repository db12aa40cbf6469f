import { CniCode, CniError } from '../../errors.js';
import type { OverlayNetwork } from '../../overlay/network.js';
import type { OverlayPeer, OverlayPeerSource } from '../../overlay/peer.js';
import { StaticPeerSource } from '../../overlay/static-source.js';
import type { VxlanConfig } from './config.js';

/** The `type` (and executable name) of Berth's VXLAN overlay plugin. */
export const BERTH_VXLAN_TYPE = 'berth-vxlan';

export interface BerthVxlanOptions {
  /** The host's netns; default: the one this process runs in. */
  readonly hostNetns?: string;
  /**
   * Peer source (b): the agent answers with its store-backed source for a network it manages; undefined (or no
   * function) falls back to the conflist's static `peers`.
   */
  readonly peerSource?: (network: OverlayNetwork) => OverlayPeerSource | undefined;
  /** The lock file serializing changes to the NAT table (tests use their own); default: OwnedTable's. */
  readonly natLockPath?: string;
}

/**
 * How this host takes part in the network: `programs` when the plugin programs the peer entries itself (static
 * peers, or an in-process agent's source), or `leased` when berthd leased this host's subnet and programs the peers
 * (the plugin then only makes this host's devices). `peers` always includes this host.
 */
export interface Membership {
  readonly peers: readonly OverlayPeer[];
  readonly programsPeers: boolean;
}

export async function membershipOf(options: BerthVxlanOptions, config: VxlanConfig): Promise<Membership> {
  if (config.hostSubnet !== undefined && config.localAddress !== undefined) {
    return { peers: [{ address: config.localAddress, subnet: config.hostSubnet, name: 'this host' }], programsPeers: false };
  }
  return { peers: await peersOf(options, config), programsPeers: true };
}

/** The peers of the request's network: from the agent's source when it has one, else the conflist's (code 7 if neither). */
async function peersOf(options: BerthVxlanOptions, config: VxlanConfig): Promise<readonly OverlayPeer[]> {
  const source = options.peerSource?.(config.network) ?? (config.peers === undefined ? undefined : new StaticPeerSource(config.peers));
  if (source === undefined) {
    throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "peers" is required for overlay ${config.network.name} when no agent supplies them`);
  }
  return source.list();
}
