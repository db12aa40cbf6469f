import { makeCidr, type IpAddress } from '../../net/ip.js';
import { masqueradeElements, type OwnedElement } from '../../nat/elements.js';
import { OwnedTable } from '../../nat/owned-table.js';
import { natTableSpec } from '../../nat/ruleset.js';
import type { OverlayNetwork } from '../../overlay/network.js';

/**
 * Masquerade for traffic leaving the overlay: each container address is masqueraded except towards the overlay's
 * whole range (every host's containers), so overlay-internal traffic keeps its source address.
 */
export function overlayMasqueradeElements(owner: string, addresses: readonly IpAddress[], network: OverlayNetwork): OwnedElement[] {
  return masqueradeElements(owner, addresses.map((address) => makeCidr(address, network.cidr.prefixLength)));
}

/**
 * Runs `fn` with Berth's NAT table in the host netns; libnftables loads only here, so calls that need no NAT never
 * pay for it.
 */
export async function withNatTable<T>(hostNetns: string | undefined, lockPath: string | undefined,
  fn: (table: OwnedTable) => Promise<T>): Promise<T> {
  const { Nft } = await import('@berth/nftables-napi');
  const nft = new Nft(hostNetns === undefined ? {} : { netns: hostNetns });
  try {
    return await fn(new OwnedTable(natTableSpec, { nft, ...(lockPath === undefined ? {} : { lockPath }) }));
  } finally {
    nft.close();
  }
}
