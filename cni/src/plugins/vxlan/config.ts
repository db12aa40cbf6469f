import { cidrCanonical, cidrContains, formatCidr, tryParseIp, type IpAddress, type IpCidr } from '../../net/ip.js';
import {
  defaultBridgeName, defaultDeviceName, overlayPortDefault, vniMax, vniMin, type OverlayNetwork,
} from '../../overlay/network.js';
import { parsePeers, type OverlayPeer } from '../../overlay/peer.js';
import type { CniRequest } from '../../skel/plugin.js';
import { optionalArray, optionalBoolean, optionalString, optionalUint } from '../../spec/fields.js';
import { tryParseCidr } from '../../spec/ip.js';
import { invalidConfig, linkNameField } from '../common/config.js';

/**
 * berth-vxlan's configuration: the overlay network, where its peers come from, and the container side. The same
 * conflist serves every host:
 *
 *   { "cniVersion": "1.1.0", "name": "overlay", "type": "berth-vxlan",
 *     "vni": 42, "port": 4789, "subnet": "10.244.0.0/16",
 *     "peers": [ { "address": "192.168.50.1", "subnet": "10.244.1.0/24" },
 *                { "address": "192.168.50.2", "subnet": "10.244.2.0/24" } ],
 *     "ipam": { "type": "berth-ipam" } }
 *
 * Optional: "localAddress", "device" (default bvx<VNI>), "bridge" (bvb<VNI>), "mtu" (default underlay − 50/70),
 * "directRouting" (false), "ipMasq" (true), "isDefaultGateway" (true). An `ipam` section without ranges allocates
 * from this host's subnet, with its gateway.
 *
 * In a cluster, berthd writes each host's conflist with no `peers` but "hostSubnet" (the subnet it leased for this
 * host) and "localAddress" (its VTEP): the plugin then makes this host's devices and allocates from that subnet,
 * and berthd alone programs the other hosts' entries (Flannel's split between flanneld and its CNI plugin).
 */
export interface VxlanConfig {
  readonly network: OverlayNetwork;
  /** The conflist's static `peers` (peer source a); undefined when the agent supplies them. */
  readonly peers: readonly OverlayPeer[] | undefined;
  /** This host's VTEP address, when it cannot be found by looking for a peer address among the host's. */
  readonly localAddress: IpAddress | undefined;
  /** The subnet berthd leased for this host (cluster networks); then `peers` is undefined and `localAddress` set. */
  readonly hostSubnet: IpCidr | undefined;
  /** Masquerade traffic from containers to destinations outside the overlay's range. Default true. */
  readonly ipMasq: boolean;
  /** Give containers a default route through the host's gateway (else only a route to the overlay's range). */
  readonly isDefaultGateway: boolean;
}

const invalid = invalidConfig;


function parseHostSubnet(text: string | undefined, range: IpCidr): IpCidr | undefined {
  if (text === undefined || text === '') return undefined;
  const cidr = tryParseCidr(text);
  if (cidr === undefined || formatCidr(cidrCanonical(cidr)) !== formatCidr(cidr)) throw invalid(`"hostSubnet" "${text.slice(0, 64)}" is not a canonical CIDR`);
  if (cidr.address.family !== 4 || !cidrContains(range, cidr.address) || cidr.prefixLength < range.prefixLength) throw invalid(`"hostSubnet" ${text} is not inside "subnet" ${formatCidr(range)}`);
  return cidr;
}

function parseRange(text: string | undefined) {
  if (text === undefined || text === '') throw invalid('"subnet" (the overlay\'s whole range, e.g. 10.244.0.0/16) is required');
  const cidr = tryParseCidr(text);
  if (cidr === undefined) throw invalid(`"subnet" "${text.slice(0, 64)}" is not a CIDR`);
  const canonical = cidrCanonical(cidr);
  if (formatCidr(canonical) !== formatCidr(cidr)) throw invalid(`"subnet" ${text} has host bits set (did you mean ${formatCidr(canonical)}?)`);
  // Overlay addresses are IPv4; the underlay (VTEP addresses) may be IPv4 or IPv6.
  if (cidr.address.family !== 4) throw invalid(`"subnet" ${text}: the overlay's range must be IPv4 (the underlay may be IPv6)`);
  return canonical;
}

/** Parses berth-vxlan's keys (code 7 naming the field when one is wrong). Peers are validated against the network later. */
export function parseVxlanConfig(request: CniRequest): VxlanConfig {
  const raw = request.config.raw;
  const vni = optionalUint(raw, 'vni', '', vniMax);
  if (vni === undefined || vni < vniMin) throw invalid(`"vni" is required: an integer from ${vniMin} to ${vniMax}`);
  const port = optionalUint(raw, 'port', '', 65535) ?? overlayPortDefault;
  if (port === 0) throw invalid('"port" must be 1-65535');
  const mtu = optionalUint(raw, 'mtu', '', 65535);
  if (mtu !== undefined && mtu !== 0 && mtu < 68) throw invalid(`"mtu" ${mtu} is below 68`);
  const peersValue = optionalArray(raw, 'peers', '');
  const localText = optionalString(raw, 'localAddress', '');
  const localAddress = localText === undefined || localText === '' ? undefined : tryParseIp(localText);
  if (localText !== undefined && localText !== '' && localAddress === undefined) throw invalid(`"localAddress" "${localText.slice(0, 64)}" is not an IP address`);
  if ((request.config.ipam?.type ?? '') === '') throw invalid('"ipam" with a "type" is required: containers on an overlay need addresses');
  const network: OverlayNetwork = {
    name: request.config.name, vni, port, cidr: parseRange(optionalString(raw, 'subnet', '')),
    device: linkNameField(request, 'device') ?? defaultDeviceName(vni), bridge: linkNameField(request, 'bridge') ?? defaultBridgeName(vni),
    directRouting: optionalBoolean(raw, 'directRouting', '') ?? false,
    mtu: mtu === 0 ? undefined : mtu,
  };
  if (network.device === network.bridge) throw invalid(`"device" and "bridge" are both ${network.device}`);
  const hostSubnet = parseHostSubnet(optionalString(raw, 'hostSubnet', ''), network.cidr);
  if (hostSubnet !== undefined && peersValue !== undefined) throw invalid('"hostSubnet" (a subnet leased by berthd) and "peers" exclude each other');
  if (hostSubnet !== undefined && localAddress === undefined) throw invalid('"hostSubnet" needs "localAddress", this host\'s VTEP address');
  return {
    network,
    peers: peersValue === undefined ? undefined : parsePeers(peersValue, 'peers'),
    localAddress,
    hostSubnet,
    ipMasq: optionalBoolean(raw, 'ipMasq', '') ?? true,
    isDefaultGateway: optionalBoolean(raw, 'isDefaultGateway', '') ?? true,
  };
}
