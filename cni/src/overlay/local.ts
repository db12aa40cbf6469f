import { CniCode, CniError } from '../errors.js';
import { formatIp, ipEquals, type IpAddress, type IpCidr } from '../net/ip.js';
import type { Rtnl } from '../net/rtnl.js';
import { describePeer, type OverlayPeer } from './peer.js';

/** This host among the peers, and the underlay link that holds its VTEP address. */
export interface LocalPeer {
  readonly peer: OverlayPeer;
  readonly underlayIndex: number;
  /** The prefixes of the underlay link's addresses (directly connected underlay subnets). */
  readonly underlayPrefixes: readonly IpCidr[];
}

/**
 * Finds this host in the peer list: the peer whose VTEP address is assigned to a link of this netns (so one conflist
 * serves every host), or the peer with `localAddress` when the config names it. Undefined when the host is not a
 * member; two peers with local addresses is an invalid configuration (code 7).
 */
export async function findLocalPeer(rtnl: Rtnl, peers: readonly OverlayPeer[], localAddress?: IpAddress): Promise<LocalPeer | undefined> {
  const addresses = await rtnl.addresses.list();
  const candidates = peers.filter((peer) => localAddress === undefined || ipEquals(peer.address, localAddress));
  const matches = candidates.flatMap((peer) => {
    const entry = addresses.find((item) => ipEquals(item.cidr.address, peer.address));
    return entry === undefined ? [] : [{ peer, entry }];
  });
  if (matches.length > 1) {
    throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: several peers have addresses of this host (${matches.map((match) => describePeer(match.peer)).join(', ')}); set "localAddress"`);
  }
  const [match] = matches;
  if (match === undefined) {
    if (localAddress !== undefined && candidates.length > 0) {
      throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "localAddress" ${formatIp(localAddress)} is not assigned to any link of this host`);
    }
    return undefined;
  }
  const underlayPrefixes = addresses.filter((item) => item.index === match.entry.index).map((item) => item.cidr);
  return { peer: match.peer, underlayIndex: match.entry.index, underlayPrefixes };
}

/** Like findLocalPeer, but a host that is not a member is an error naming where it looked (code 7). */
export async function requireLocalPeer(rtnl: Rtnl, peers: readonly OverlayPeer[], localAddress: IpAddress | undefined,
  network: string): Promise<LocalPeer> {
  const local = await findLocalPeer(rtnl, peers, localAddress);
  if (local === undefined) {
    throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: none of the ${peers.length} peers of overlay ${network} has an address of this host${localAddress === undefined ? '' : ` (localAddress ${formatIp(localAddress)})`}`);
  }
  return local;
}
