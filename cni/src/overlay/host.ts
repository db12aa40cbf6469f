import { CniCode, CniError } from '../errors.js';
import { isExists } from '../net/errors.js';
import { cidrContains, formatCidr, ipEquals, makeCidr, type IpCidr } from '../net/ip.js';
import type { Link } from '../net/link-model.js';
import type { Rtnl } from '../net/rtnl.js';
import { readSysctl, writeSysctl } from '../net/sysctl.js';
import type { LocalPeer } from './local.js';
import { describeNetwork, type OverlayNetwork } from './network.js';
import { peerMac } from './peer.js';
import { gatewayOf, nextHopOf } from './plan.js';
import { OverlayRouteOps, listOverlayRoutes } from './routes.js';
import { overlayMtu } from './vtep.js';

/** A host's part of an overlay network: its devices and addresses, as they are after `ensureOverlayHost`. */
export interface OverlayHost {
  readonly network: OverlayNetwork;
  readonly local: LocalPeer;
  readonly underlay: Link;
  readonly vxlan: Link;
  readonly bridge: Link;
  /** The MTU of the VXLAN device, the bridge and every container link. */
  readonly mtu: number;
  /** The host subnet's gateway on the bridge. */
  readonly gateway: IpCidr;
}

function invalid(message: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: ${message}`);
}

function mtuFor(network: OverlayNetwork, underlay: Link, local: LocalPeer): number {
  const derived = overlayMtu(underlay.mtu ?? 1500, local.peer.address.family);
  if (network.mtu === undefined) return derived;
  if (network.mtu > derived) {
    throw invalid(`"mtu" ${network.mtu} exceeds ${derived}, what the underlay link ${underlay.name} (MTU ${underlay.mtu ?? 'unknown'}) leaves after VXLAN's overhead`);
  }
  return network.mtu;
}

async function ensureVxlanDevice(rtnl: Rtnl, network: OverlayNetwork, local: LocalPeer, mtu: number): Promise<Link> {
  const mac = peerMac(network, local.peer);
  let vxlan: Link;
  try {
    vxlan = await rtnl.links.ensureVxlan({
      name: network.device, vni: network.vni, port: network.port, local: local.peer.address, underlay: local.underlayIndex,
      learning: false, mtu, mac,
    });
  } catch (error) {
    if (isExists(error)) throw invalid(`the link ${network.device} exists and is not the VXLAN device of ${describeNetwork(network)}: ${(error as Error).message}`);
    throw error;
  }
  if (vxlan.vxlan?.port !== network.port) throw invalid(`VXLAN device ${network.device} uses UDP port ${vxlan.vxlan?.port ?? 'unknown'}, the config says ${network.port}`);
  if (vxlan.mtu !== mtu || vxlan.mac !== mac || !vxlan.up) await rtnl.links.update(network.device, { mtu, mac, up: true });
  return vxlan;
}

/** Gives `link` exactly one address inside the network's range: `wanted` (removing one left by an older subnet). */
async function ensureOnlyAddress(rtnl: Rtnl, link: string, network: OverlayNetwork, wanted: IpCidr): Promise<void> {
  const present = await rtnl.addresses.list(link, network.cidr.address.family);
  for (const entry of present) {
    const same = ipEquals(entry.cidr.address, wanted.address) && entry.cidr.prefixLength === wanted.prefixLength;
    if (!same && cidrContains(network.cidr, entry.cidr.address)) await rtnl.addresses.remove(link, entry.cidr);
  }
  if (!present.some((entry) => formatCidr(entry.cidr) === formatCidr(wanted))) await rtnl.addresses.ensure(link, wanted, { noDad: true });
}

function enableForwarding(netnsPath: string | undefined, family: 4 | 6): void {
  const key = family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding';
  if (readSysctl(netnsPath, key) !== '1') writeSysctl(netnsPath, key, '1');
}

/**
 * Creates or adopts this host's VXLAN device (VNI, port, local VTEP address, no learning, the derived MTU and MAC)
 * and bridge, gives the device its next-hop address and the bridge the subnet's gateway, and turns on forwarding.
 * Idempotent and safe against a concurrent call; touches nothing peer-specific.
 */
export async function ensureOverlayHost(rtnl: Rtnl, netnsPath: string | undefined, network: OverlayNetwork, local: LocalPeer): Promise<OverlayHost> {
  const underlay = await rtnl.links.get(local.underlayIndex);
  const mtu = mtuFor(network, underlay, local);
  const vxlan = await ensureVxlanDevice(rtnl, network, local, mtu);
  const family = network.cidr.address.family;
  await ensureOnlyAddress(rtnl, network.device, network, makeCidr(nextHopOf(local.peer), family === 4 ? 32 : 128));
  let bridge: Link;
  try {
    bridge = await rtnl.links.ensureBridge({ name: network.bridge, mtu });
  } catch (error) {
    if (isExists(error)) throw invalid(`the link ${network.bridge} exists and is not a bridge`);
    throw error;
  }
  if (!bridge.up) await rtnl.links.setUp(network.bridge);
  const gateway = gatewayOf(local.peer);
  await ensureOnlyAddress(rtnl, network.bridge, network, gateway);
  enableForwarding(netnsPath, family);
  return { network, local, underlay, vxlan, bridge, mtu, gateway };
}

/**
 * Takes this host out of the network: the overlay routes into the network's range, then the VXLAN device (its FDB
 * and neighbour entries go with it) and the bridge if no container is attached to it any more. Idempotent.
 */
export async function removeOverlayHost(rtnl: Rtnl, netnsPath: string | undefined, network: OverlayNetwork): Promise<void> {
  const routes = new OverlayRouteOps(netnsPath);
  try {
    for (const route of await listOverlayRoutes(rtnl, network.cidr.address.family)) {
      if (route.gateway === undefined || route.oifIndex === undefined || !cidrContains(network.cidr, route.dst.address)) continue;
      await routes.remove({ dst: route.dst, gateway: route.gateway, oifIndex: route.oifIndex, onlink: false });
    }
  } finally {
    routes.close();
  }
  await rtnl.links.remove(network.device);
  const bridge = await rtnl.links.find(network.bridge);
  if (bridge === undefined || bridge.kind !== 'bridge') return;
  const ports = (await rtnl.links.list()).filter((link) => link.masterIndex === bridge.index);
  if (ports.length === 0) await rtnl.links.remove(network.bridge);
}

function checkFailed(message: string): CniError {
  return new CniError(CniCode.Internal, `CHECK failed: ${message}`);
}

/**
 * Reads this host's part of the network without changing anything, failing (CHECK's way) when a device is missing
 * or differs from what `ensureOverlayHost` makes.
 */
export async function inspectOverlayHost(rtnl: Rtnl, network: OverlayNetwork, local: LocalPeer): Promise<OverlayHost> {
  const vxlan = await rtnl.links.find(network.device);
  if (vxlan?.kind !== 'vxlan') throw checkFailed(`VXLAN device ${network.device} of ${describeNetwork(network)} does not exist`);
  const info = vxlan.vxlan;
  if (info?.vni !== network.vni || info.port !== network.port || info.local === undefined || !ipEquals(info.local, local.peer.address)) {
    throw checkFailed(`VXLAN device ${network.device} has VNI ${info?.vni ?? '?'} port ${info?.port ?? '?'}, the network wants VNI ${network.vni} port ${network.port} from this host's VTEP`);
  }
  if (info.learning === true) throw checkFailed(`VXLAN device ${network.device} learns MAC addresses; Berth programs them`);
  if (!vxlan.up) throw checkFailed(`VXLAN device ${network.device} is down`);
  const bridge = await rtnl.links.find(network.bridge);
  if (bridge?.kind !== 'bridge') throw checkFailed(`bridge ${network.bridge} does not exist`);
  const gateway = gatewayOf(local.peer);
  const addresses = await rtnl.addresses.list(network.bridge, network.cidr.address.family);
  if (!addresses.some((entry) => formatCidr(entry.cidr) === formatCidr(gateway))) throw checkFailed(`bridge ${network.bridge} lacks the gateway ${formatCidr(gateway)}`);
  const underlay = await rtnl.links.get(local.underlayIndex);
  return { network, local, underlay, vxlan, bridge, mtu: vxlan.mtu ?? 0, gateway };
}
