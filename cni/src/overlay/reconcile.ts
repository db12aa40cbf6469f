import type { IpAddress } from '../net/ip.js';
import type { Rtnl } from '../net/rtnl.js';
import { ensureOverlayHost, type OverlayHost } from './host.js';
import { findLocalPeer } from './local.js';
import type { OverlayNetwork } from './network.js';
import { validatePeers, type OverlayPeer } from './peer.js';
import { applyPeerDiff, readPeerEntries, syncPeerEntries } from './program.js';
import { diffPeerEntries, noPeerEntries, type PeerEntriesDiff } from './plan.js';

/** The outcome of one reconciliation of a host with its network's peer list. */
export type ReconcileReport =
  | { readonly member: true; readonly host: OverlayHost; readonly diff: PeerEntriesDiff }
  /** The host is not in the list: its peer entries were removed (its devices stay, as its containers may). */
  | { readonly member: false; readonly diff: PeerEntriesDiff | undefined };

/**
 * Brings this host in line with `peers`: validates them, finds itself among them, ensures its devices and programs
 * exactly the entries for the others; a host missing from the list drops every peer entry it had. Existing entries
 * that stay correct are left alone, so traffic between the remaining hosts never stops.
 */
export async function reconcileOverlay(rtnl: Rtnl, netnsPath: string | undefined, network: OverlayNetwork,
  peers: readonly OverlayPeer[], localAddress?: IpAddress): Promise<ReconcileReport> {
  validatePeers(network, peers);
  const local = await findLocalPeer(rtnl, peers, localAddress);
  if (local !== undefined) {
    const host = await ensureOverlayHost(rtnl, netnsPath, network, local);
    const { diff } = await syncPeerEntries(rtnl, netnsPath, host, peers);
    return { member: true, host, diff };
  }
  return { member: false, diff: await dropPeerEntries(rtnl, netnsPath, network) };
}

/** Removes every peer entry of the network's VXLAN device on this host; undefined when there is no such device. */
async function dropPeerEntries(rtnl: Rtnl, netnsPath: string | undefined, network: OverlayNetwork): Promise<PeerEntriesDiff | undefined> {
  const vxlan = await rtnl.links.find(network.device);
  if (vxlan?.kind !== 'vxlan' || vxlan.vxlan?.vni !== network.vni) return undefined;
  const devices = { network, vxlanIndex: vxlan.index, underlayIndex: vxlan.vxlan.underlayIndex ?? vxlan.index };
  const diff = diffPeerEntries(noPeerEntries, await readPeerEntries(rtnl, devices));
  await applyPeerDiff(rtnl, netnsPath, devices, diff);
  return diff;
}
