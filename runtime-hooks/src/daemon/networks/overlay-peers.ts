import {
  buildRequest, cidrOverlaps, ipEquals, parseCidr, parseIp, parseVxlanConfig, type OverlayNetwork, type OverlayPeer,
} from '@berth/cni';
import { leasesOf, type NetworkRecord, type OverlayLeaseRecord, type StoredLease } from '@berth/secrets';
import { plugins } from '../../networks/conflist.js';

export function peerOfLease(lease: OverlayLeaseRecord): OverlayPeer {
  return { address: parseIp(lease.vtep), subnet: parseCidr(lease.subnet), mac: lease.mac, name: lease.hostname };
}

/**
 * The peer list of a leased network as this host programs it: itself (from the lease it holds, so it never drops
 * its own part while its key is being put again) and every other host's lease of this incarnation of the network.
 * A lease that conflicts with an older one (same VTEP address, MAC or an overlapping subnet) is left out rather than
 * failing the whole list: claims never overlap, so such a lease is forged (a stolen worker certificate can write its
 * own key with any value) or left by a host that came back under a new identity before its old lease expired, and
 * the older claim keeps its subnet. Pure.
 */
export function overlayPeersOf(record: NetworkRecord, leases: readonly StoredLease[], self: { nodeId: string; lease: OverlayLeaseRecord }): { peers: OverlayPeer[]; skipped: number } {
  const peers = [peerOfLease(self.lease)];
  const others = leasesOf(record, leases).filter((lease) => lease.nodeId !== self.nodeId).sort((a, b) => a.createRevision - b.createRevision);
  let skipped = 0;
  for (const lease of others) {
    const peer = peerOfLease(lease.value);
    if (peers.some((other) => ipEquals(other.address, peer.address) || cidrOverlaps(other.subnet, peer.subnet) || other.mac === peer.mac)) {
      skipped += 1;
      continue;
    }
    peers.push(peer);
  }
  return { peers, skipped };
}

/**
 * The overlay network a rendered conflist describes, read by the plugin's own parser: berthd's controller and the
 * plugin exec'd on the same conflist always agree on the VNI, port, device and bridge names and MTU.
 */
export function overlayNetworkOf(conflist: Record<string, unknown>): OverlayNetwork {
  const [driver] = plugins(conflist);
  const stdin = JSON.stringify({ ...driver, cniVersion: conflist['cniVersion'], name: conflist['name'] });
  return parseVxlanConfig(buildRequest({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'berthd', CNI_NETNS: '/nonexistent', CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' }, stdin)).network;
}
