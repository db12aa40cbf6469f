import { formatIp, type IpAddress, type IpFamily } from '../net/ip.js';
import { formatMac } from '../net/mac.js';
import { fnv1a64 } from './hash.js';

/** Bytes VXLAN adds to each packet: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 (IPv6 outer header: 40). */
export const vxlanOverheadBytes: Readonly<Record<IpFamily, number>> = { 4: 50, 6: 70 };
/** The smallest MTU an overlay accepts: IPv4's minimum (RFC 791). */
export const overlayMtuMin = 68;

/** The overlay's MTU on an underlay link of `underlayMtu` with VTEP addresses of `family`. */
export function overlayMtu(underlayMtu: number, family: IpFamily): number {
  const mtu = underlayMtu - vxlanOverheadBytes[family];
  if (!Number.isInteger(underlayMtu) || mtu < overlayMtuMin) {
    throw new RangeError(`An underlay MTU of ${underlayMtu} leaves no room for a VXLAN overlay (needs ${overlayMtuMin + vxlanOverheadBytes[family]})`);
  }
  return mtu;
}

/**
 * The MAC of a host's VXLAN device, derived from the VNI and its VTEP address: every host computes the same MAC for
 * every peer, so a static peer list needs no MACs. Locally administered (0x02 bit) and unicast (0x01 bit clear);
 * 40 bits of hash, and peer validation refuses a collision among one network's peers.
 */
export function vtepMac(vni: number, address: IpAddress): string {
  const hash = fnv1a64(`berth-vtep/${vni}/${formatIp(address)}`);
  const bytes = [0x0a];
  for (let shift = 32n; shift >= 0n; shift -= 8n) bytes.push(Number((hash >> shift) & 0xffn));
  return formatMac(Uint8Array.from(bytes));
}
