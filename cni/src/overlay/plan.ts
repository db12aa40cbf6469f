/**
 * What a host programs for its peers, as data: for each remote host an FDB entry (its VTEP MAC → its underlay
 * address), a permanent neighbour (its subnet's next hop → that MAC) and an on-link route (its subnet via that next
 * hop on the VXLAN device), or with directRouting and a shared underlay subnet only a route via its underlay address.
 * Planning and diffing are pure; `program.ts` reads and applies.
 */
import {
  cidrContains, cidrNetwork, formatCidr, formatIp, ipAdd, ipEquals, makeCidr, type IpAddress, type IpCidr,
} from '../net/ip.js';
import type { OverlayNetwork } from './network.js';
import { peerMac, type OverlayPeer } from './peer.js';

export interface FdbEntrySpec { readonly mac: string; readonly dst: IpAddress }
export interface NeighbourEntrySpec { readonly ip: IpAddress; readonly mac: string }
export type RouteVia = 'vxlan' | 'underlay';
export interface RouteEntrySpec { readonly dst: IpCidr; readonly gateway: IpAddress; readonly via: RouteVia }

/** A host's entries for its peers. Keys: FDB by MAC, neighbours by address, routes by destination. */
export interface PeerEntries {
  readonly fdb: readonly FdbEntrySpec[];
  readonly neighbours: readonly NeighbourEntrySpec[];
  readonly routes: readonly RouteEntrySpec[];
}

export const noPeerEntries: PeerEntries = { fdb: [], neighbours: [], routes: [] };

/** The next hop that stands for a host on the VXLAN device: its subnet's network address (as flannel does). */
export function nextHopOf(peer: OverlayPeer): IpAddress {
  return cidrNetwork(peer.subnet);
}

/** The gateway of a host's subnet, held by its bridge: the subnet's first address. */
export function gatewayOf(peer: OverlayPeer): IpCidr {
  const address = ipAdd(cidrNetwork(peer.subnet), 1n);
  if (address === undefined) throw new RangeError(`Subnet ${formatCidr(peer.subnet)} has no first address`);
  return makeCidr(address, peer.subnet.prefixLength);
}

export interface PlanInput {
  readonly network: OverlayNetwork;
  /** This host; undefined when it is not (any more) in the peer list: then it programs nothing. */
  readonly local: OverlayPeer | undefined;
  readonly peers: readonly OverlayPeer[];
  /** The prefixes of the underlay link's addresses: a peer inside one shares this host's L2 segment. */
  readonly underlayPrefixes: readonly IpCidr[];
}

function isDirect(input: PlanInput, peer: OverlayPeer): boolean {
  return input.network.directRouting && peer.address.family === input.network.cidr.address.family &&
    input.underlayPrefixes.some((prefix) => prefix.address.family === peer.address.family && cidrContains(prefix, peer.address));
}

export function planPeerEntries(input: PlanInput): PeerEntries {
  const { local } = input;
  if (local === undefined) return noPeerEntries;
  const fdb: FdbEntrySpec[] = [];
  const neighbours: NeighbourEntrySpec[] = [];
  const routes: RouteEntrySpec[] = [];
  for (const peer of input.peers) {
    if (ipEquals(peer.address, local.address)) continue;
    if (isDirect(input, peer)) {
      routes.push({ dst: peer.subnet, gateway: peer.address, via: 'underlay' });
      continue;
    }
    const mac = peerMac(input.network, peer);
    const nextHop = nextHopOf(peer);
    fdb.push({ mac, dst: peer.address });
    neighbours.push({ ip: nextHop, mac });
    routes.push({ dst: peer.subnet, gateway: nextHop, via: 'vxlan' });
  }
  return { fdb, neighbours, routes };
}

const fdbKey = (entry: FdbEntrySpec): string => entry.mac;
const fdbValue = (entry: FdbEntrySpec): string => formatIp(entry.dst);
const neighbourKey = (entry: NeighbourEntrySpec): string => formatIp(entry.ip);
const neighbourValue = (entry: NeighbourEntrySpec): string => entry.mac;
const routeKey = (entry: RouteEntrySpec): string => formatCidr(entry.dst);
const routeValue = (entry: RouteEntrySpec): string => `${formatIp(entry.gateway)} ${entry.via}`;

/** Entries to set (absent, or present with another value) and to remove (present, not wanted), by key. */
function diffKeyed<T>(desired: readonly T[], current: readonly T[], key: (entry: T) => string, value: (entry: T) => string):
  { set: T[]; remove: T[] } {
  const have = new Map(current.map((entry) => [key(entry), value(entry)]));
  const want = new Set(desired.map(key));
  return {
    set: desired.filter((entry) => have.get(key(entry)) !== value(entry)),
    remove: current.filter((entry) => !want.has(key(entry))),
  };
}

/** What to change so `current` becomes `desired`. Unchanged entries appear in neither: their traffic is untouched. */
export interface PeerEntriesDiff { readonly set: PeerEntries; readonly remove: PeerEntries }

export function diffPeerEntries(desired: PeerEntries, current: PeerEntries): PeerEntriesDiff {
  const fdb = diffKeyed(desired.fdb, current.fdb, fdbKey, fdbValue);
  const neighbours = diffKeyed(desired.neighbours, current.neighbours, neighbourKey, neighbourValue);
  const routes = diffKeyed(desired.routes, current.routes, routeKey, routeValue);
  return {
    set: { fdb: fdb.set, neighbours: neighbours.set, routes: routes.set },
    remove: { fdb: fdb.remove, neighbours: neighbours.remove, routes: routes.remove },
  };
}

export function isEmptyDiff(diff: PeerEntriesDiff): boolean {
  return [diff.set, diff.remove].every((entries) => entries.fdb.length + entries.neighbours.length + entries.routes.length === 0);
}

/** A one-line summary ("+2 fdb, -1 route"), for logs and reports. */
export function describeDiff(diff: PeerEntriesDiff): string {
  const parts: string[] = [];
  for (const [sign, entries] of [['+', diff.set], ['-', diff.remove]] as const) {
    for (const [kind, count] of [['fdb', entries.fdb.length], ['neighbour', entries.neighbours.length], ['route', entries.routes.length]] as const) {
      if (count > 0) parts.push(`${sign}${count} ${kind}`);
    }
  }
  return parts.length === 0 ? 'no change' : parts.join(', ');
}
