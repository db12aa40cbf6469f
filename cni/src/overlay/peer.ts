import { CniCode, CniError } from '../errors.js';
import {
  cidrCanonical, cidrContains, cidrOverlaps, cidrSize, formatCidr, formatIp, ipEquals, tryParseIp, type IpAddress, type IpCidr,
} from '../net/ip.js';
import { MacParseError, formatMac, parseMac } from '../net/mac.js';
import { expectObject, fieldPath, optionalString, requiredString } from '../spec/fields.js';
import { tryParseCidr } from '../spec/ip.js';
import type { OverlayNetwork } from './network.js';
import { vtepMac } from './vtep.js';

/**
 * One host of an overlay network: where its VTEP is and which slice of the network's range it owns.
 *
 * Why each peer's subnet is written down (in the conflist's `peers`, or in the host's lease in the store) rather
 * than derived: a subnet derived from the host's position in the list would renumber every later host when one
 * joins or leaves, breaking running containers' addresses; one derived from a hash of the host's address could
 * collide, and a collision would surface only when the second host joins. An explicit subnet is stable for the
 * host's lifetime, validated against every other peer's (disjoint, inside the range) before anything is
 * programmed, and is exactly what the agent's lease will hold. Each host finds itself in the list by its VTEP
 * address being one of its own, so one conflist serves every host.
 */
export interface OverlayPeer {
  /** The host's VTEP address on the underlay. */
  readonly address: IpAddress;
  /** The host's subnet of the network's range (canonical). */
  readonly subnet: IpCidr;
  /** The MAC of its VXLAN device; omitted: `vtepMac(vni, address)`. */
  readonly mac?: string;
  /** A name for messages (host name, node ID). */
  readonly name?: string;
}

/**
 * Where an overlay's peer list comes from: (a) the static `peers` of the conflist, or (b) the cluster store, filled
 * by the agent (each host's VTEP record and subnet lease). `list` includes this host.
 */
export interface OverlayPeerSource {
  list(): Promise<readonly OverlayPeer[]>;
  /** Calls `onChange` with the whole new list after each change; returns the function that stops watching. */
  watch(onChange: (peers: readonly OverlayPeer[]) => void): () => void;
}

/** More peers than this in one network is refused: planning and validation stay cheap. */
export const peersMax = 1024;

function invalid(message: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: ${message}`);
}

function parsePeer(value: unknown, path: string): OverlayPeer {
  const object = expectObject(value, path);
  const addressText = requiredString(object, 'address', path);
  const address = tryParseIp(addressText);
  if (address === undefined) throw invalid(`"${fieldPath(path, 'address')}" "${addressText.slice(0, 64)}" is not an IP address`);
  const subnetText = requiredString(object, 'subnet', path);
  const subnet = tryParseCidr(subnetText);
  if (subnet === undefined) throw invalid(`"${fieldPath(path, 'subnet')}" "${subnetText.slice(0, 64)}" is not a CIDR`);
  if (formatCidr(subnet) !== formatCidr(cidrCanonical(subnet))) {
    throw invalid(`"${fieldPath(path, 'subnet')}" ${subnetText} has host bits set (did you mean ${formatCidr(cidrCanonical(subnet))}?)`);
  }
  const macText = optionalString(object, 'mac', path);
  const name = optionalString(object, 'name', path);
  let mac: string | undefined;
  if (macText !== undefined) {
    try {
      mac = formatMac(parseMac(macText));
    } catch (error) {
      if (error instanceof MacParseError) throw invalid(`"${fieldPath(path, 'mac')}" "${macText.slice(0, 40)}" is not a MAC address`);
      throw error;
    }
  }
  return { address, subnet, ...(mac === undefined ? {} : { mac }), ...(name === undefined ? {} : { name: name.slice(0, 253) }) };
}

/** Parses a conflist's `peers` array (code 7 naming the entry when one is wrong). */
export function parsePeers(value: readonly unknown[], path: string): OverlayPeer[] {
  if (value.length > peersMax) throw invalid(`"${path}" lists ${value.length} peers, more than ${peersMax}`);
  return value.map((item, index) => parsePeer(item, fieldPath(path, index)));
}

/** The MAC a peer's VXLAN device has. */
export function peerMac(network: Pick<OverlayNetwork, 'vni'>, peer: OverlayPeer): string {
  return peer.mac ?? vtepMac(network.vni, peer.address);
}

export function describePeer(peer: OverlayPeer): string {
  return `${peer.name === undefined ? '' : `${peer.name} `}${formatIp(peer.address)} (${formatCidr(peer.subnet)})`;
}

/**
 * Checks a peer list against its network: subnets of the network's family inside its range, with room for a gateway
 * and a container, pairwise disjoint; VTEP addresses of one family and distinct; MACs distinct and unicast.
 */
export function validatePeers(network: OverlayNetwork, peers: readonly OverlayPeer[]): void {
  if (peers.length > peersMax) throw invalid(`${peers.length} peers, more than ${peersMax}`);
  const family = peers[0]?.address.family;
  const macs = new Map<string, OverlayPeer>();
  for (const [index, peer] of peers.entries()) {
    const what = `peer ${describePeer(peer)}`;
    if (peer.subnet.address.family !== network.cidr.address.family || !cidrContains(network.cidr, peer.subnet.address) ||
        peer.subnet.prefixLength < network.cidr.prefixLength) {
      throw invalid(`${what}: its subnet is not inside the network's ${formatCidr(network.cidr)}`);
    }
    if (cidrSize(peer.subnet) < 4n) throw invalid(`${what}: its subnet is too small for a gateway and a container`);
    if (peer.address.family !== family) throw invalid(`${what}: VTEP addresses mix IPv4 and IPv6`);
    const mac = peerMac(network, peer);
    if (((parseMac(mac)[0] ?? 0) & 1) === 1) throw invalid(`${what}: MAC ${mac} is multicast`);
    const sameMac = macs.get(mac);
    if (sameMac !== undefined) throw invalid(`${what}: its VTEP MAC ${mac} equals that of ${describePeer(sameMac)}; give one a "mac"`);
    macs.set(mac, peer);
    for (const other of peers.slice(index + 1)) {
      if (ipEquals(other.address, peer.address)) throw invalid(`${what}: VTEP address listed twice`);
      if (cidrOverlaps(other.subnet, peer.subnet)) throw invalid(`${what}: its subnet overlaps that of ${describePeer(other)}`);
    }
  }
}
