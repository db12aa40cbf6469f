import { sha256Hex } from '../hash/sha256.js';

/** Who added a NAT element: one attachment of a container to a network (as CNI identifies it). */
export interface NatOwner {
  readonly network: string;
  readonly containerId: string;
  readonly ifName: string;
}

/** libnftables refuses comments longer than this (NFTNL_UDATA_COMMENT_MAXLEN). */
export const ownerTagLengthMax = 128;
const networkPartLengthMax = 40;
const containerPartLengthMax = 64;

function shortened(text: string, lengthMax: number, hashHexLength: number): string {
  if (text.length <= lengthMax) return text;
  return `#${sha256Hex(text).slice(0, hashHexLength)}`;
}

/** The tag's first part: the network name, or `#` and a hash of it when the name is long. */
export function networkTag(network: string): string {
  return shortened(network, networkPartLengthMax, 16);
}

/**
 * The comment every NAT element carries: `NETWORK/CONTAINERID/IFNAME`, readable in `nft list ruleset`. Long network
 * names and container IDs are replaced by `#` and a hash so the tag always fits the comment limit; the tag is still
 * a pure function of the owner, so DEL and GC recompute it instead of parsing it. Network names, container IDs and
 * interface names never contain "/" (CNI and the kernel forbid it), so the parts cannot run into each other.
 */
export function ownerTag(owner: NatOwner): string {
  const tag = `${networkTag(owner.network)}/${shortened(owner.containerId, containerPartLengthMax, 24)}/${owner.ifName}`;
  if (tag.length > ownerTagLengthMax || owner.ifName.includes('/') || owner.ifName === '') {
    throw new RangeError(`Cannot tag NAT elements for ${owner.containerId}/${owner.ifName}: invalid interface name`);
  }
  return tag;
}

/** True when `tag` belongs to an attachment of `network`. */
export function tagInNetwork(tag: string, network: string): boolean {
  return tag.startsWith(`${networkTag(network)}/`);
}
