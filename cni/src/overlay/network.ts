import { formatCidr, type IpCidr } from '../net/ip.js';

/** The VXLAN UDP port IANA assigned (RFC 7348). */
export const overlayPortDefault = 4789;
export const vniMin = 1;
export const vniMax = 0xffffff;

/** One overlay network as every host sees it: what its devices, entries and routes are made from. */
export interface OverlayNetwork {
  /** The CNI network name (owner tags, IPAM directory). */
  readonly name: string;
  readonly vni: number;
  /** UDP destination port of the VXLAN packets. */
  readonly port: number;
  /** The network's whole range (canonical); each host owns one subnet of it. */
  readonly cidr: IpCidr;
  /** The VXLAN device on each host. */
  readonly device: string;
  /** The bridge the host's containers are attached to; it holds the host subnet's gateway. */
  readonly bridge: string;
  /** Route to peers whose VTEP address is on a directly connected underlay subnet without encapsulation. */
  readonly directRouting: boolean;
  /** An MTU for the overlay below the one derived from the underlay (underlay − 50, or − 70 over IPv6). */
  readonly mtu: number | undefined;
}

/** `bvx<VNI>`: the default VXLAN device name (at most 11 bytes). */
export function defaultDeviceName(vni: number): string {
  return `bvx${vni}`;
}

/** `bvb<VNI>`: the default bridge name. */
export function defaultBridgeName(vni: number): string {
  return `bvb${vni}`;
}

export function describeNetwork(network: OverlayNetwork): string {
  return `overlay ${network.name} (VNI ${network.vni}, ${formatCidr(network.cidr)})`;
}
