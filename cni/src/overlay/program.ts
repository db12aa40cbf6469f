import { cidrContains, formatIp, type IpAddress } from '../net/ip.js';
import type { Rtnl } from '../net/rtnl.js';
import type { OverlayHost } from './host.js';
import type { OverlayNetwork } from './network.js';
import {
  diffPeerEntries, planPeerEntries, type FdbEntrySpec, type NeighbourEntrySpec, type PeerEntries, type PeerEntriesDiff,
  type RouteEntrySpec,
} from './plan.js';
import type { OverlayPeer } from './peer.js';
import { OverlayRouteOps, listOverlayRoutes, type OverlayRouteSpec } from './routes.js';

const zeroMac = '00:00:00:00:00:00';

/** Where a network's peer entries live on a host: its VXLAN device, and the underlay link (direct routes). */
export interface PeerDevices {
  readonly network: OverlayNetwork;
  readonly vxlanIndex: number;
  readonly underlayIndex: number;
}

export function devicesOf(host: OverlayHost): PeerDevices {
  return { network: host.network, vxlanIndex: host.vxlan.index, underlayIndex: host.underlay.index };
}

/**
 * The peer entries this host has now: the VXLAN device's unicast FDB entries and permanent neighbours, and the
 * overlay-protocol routes into the network's range through the VXLAN device or the underlay link.
 */
export async function readPeerEntries(rtnl: Rtnl, devices: PeerDevices): Promise<PeerEntries> {
  const family = devices.network.cidr.address.family;
  const fdb: FdbEntrySpec[] = (await rtnl.fdb.list(devices.vxlanIndex))
    .flatMap((entry) => (entry.self && entry.dst !== undefined && entry.mac !== zeroMac ? [{ mac: entry.mac, dst: entry.dst }] : []));
  const neighbours: NeighbourEntrySpec[] = (await rtnl.neighbours.list(devices.vxlanIndex, family))
    .flatMap((entry) => (entry.permanent && entry.mac !== undefined ? [{ ip: entry.ip, mac: entry.mac }] : []));
  const routes: RouteEntrySpec[] = (await listOverlayRoutes(rtnl, family)).flatMap((route): RouteEntrySpec[] => {
    if (route.gateway === undefined || !cidrContains(devices.network.cidr, route.dst.address)) return [];
    if (route.oifIndex === devices.vxlanIndex) return [{ dst: route.dst, gateway: route.gateway, via: 'vxlan' as const }];
    if (route.oifIndex === devices.underlayIndex) return [{ dst: route.dst, gateway: route.gateway, via: 'underlay' as const }];
    return [];
  });
  return { fdb, neighbours, routes };
}

function routeSpec(route: RouteEntrySpec, devices: PeerDevices): OverlayRouteSpec {
  const vxlan = route.via === 'vxlan';
  return { dst: route.dst, gateway: route.gateway, oifIndex: vxlan ? devices.vxlanIndex : devices.underlayIndex, onlink: vxlan };
}

/**
 * Applies a diff in the order that keeps traffic flowing: FDB entries before the neighbours that point at their
 * MACs, neighbours before the routes that use them; removals the other way round (routes first). Every operation is
 * idempotent (set = replace, remove of a missing entry is fine), so a concurrent sync of the same plan is harmless.
 */
export async function applyPeerDiff(rtnl: Rtnl, netnsPath: string | undefined, devices: PeerDevices, diff: PeerEntriesDiff): Promise<void> {
  const routes = new OverlayRouteOps(netnsPath);
  try {
    for (const entry of diff.set.fdb) await rtnl.fdb.set({ dev: devices.vxlanIndex, mac: entry.mac, dst: entry.dst });
    for (const entry of diff.set.neighbours) await rtnl.neighbours.set({ dev: devices.vxlanIndex, ip: entry.ip, mac: entry.mac });
    for (const route of diff.set.routes) await routes.ensure(routeSpec(route, devices));
    for (const route of diff.remove.routes) await routes.remove(routeSpec(route, devices));
    for (const entry of diff.remove.neighbours) await rtnl.neighbours.remove(devices.vxlanIndex, entry.ip);
    for (const entry of diff.remove.fdb) await rtnl.fdb.remove({ dev: devices.vxlanIndex, mac: entry.mac });
  } finally {
    routes.close();
  }
}

/** What one sync found and did. */
export interface PeerSyncReport {
  readonly desired: PeerEntries;
  readonly diff: PeerEntriesDiff;
}

/** Makes this host's peer entries exactly those the peer list asks for; entries that already match are not touched. */
export async function syncPeerEntries(rtnl: Rtnl, netnsPath: string | undefined, host: OverlayHost,
  peers: readonly OverlayPeer[]): Promise<PeerSyncReport> {
  const desired = planPeerEntries({
    network: host.network, local: host.local.peer, peers, underlayPrefixes: host.local.underlayPrefixes,
  });
  const diff = diffPeerEntries(desired, await readPeerEntries(rtnl, devicesOf(host)));
  await applyPeerDiff(rtnl, netnsPath, devicesOf(host), diff);
  return { desired, diff };
}

/** The desired entries that are absent or different: what CHECK reports. */
export async function missingPeerEntries(rtnl: Rtnl, host: OverlayHost, peers: readonly OverlayPeer[]): Promise<PeerEntries> {
  const desired = planPeerEntries({
    network: host.network, local: host.local.peer, peers, underlayPrefixes: host.local.underlayPrefixes,
  });
  return diffPeerEntries(desired, await readPeerEntries(rtnl, devicesOf(host))).set;
}

/** "10.244.2.0/24 via 10.244.2.0 (vxlan)" and the like, for messages. */
export function describeEntries(entries: PeerEntries): string[] {
  const ip = (address: IpAddress) => formatIp(address);
  return [
    ...entries.fdb.map((entry) => `fdb ${entry.mac} dst ${ip(entry.dst)}`),
    ...entries.neighbours.map((entry) => `neighbour ${ip(entry.ip)} lladdr ${entry.mac}`),
    ...entries.routes.map((entry) => `route ${ip(entry.dst.address)}/${entry.dst.prefixLength} via ${ip(entry.gateway)} (${entry.via})`),
  ];
}
