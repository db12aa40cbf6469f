import { cidrCanonical, cidrContains, cidrOverlaps, formatCidr, ipAdd, makeCidr, type IpCidr } from '../net/ip.js';

/** One network's host subnets are at most this many (2^16): every candidate can be listed, and choosing stays cheap. */
export const hostSubnetsMax = 65_536;
/** Flannel's default: a /24 per host, unless the range is smaller than a /22. */
export const hostPrefixLengthDefault = 24;
/** The smallest host subnet: a next hop, a gateway and two containers. */
export const hostPrefixLengthMax = 30;

/**
 * The prefix length of each host's subnet in an overlay range, as Flannel chooses it: /24, or for a range smaller
 * than a /22 two bits more than the range (4 host subnets). A range with more than `hostSubnetsMax` host subnets is
 * refused (RangeError naming the range), as is one too small to split.
 */
export function hostPrefixLengthFor(range: IpCidr): number {
  const prefixLength = range.prefixLength > 22 ? range.prefixLength + 2 : hostPrefixLengthDefault;
  if (prefixLength > hostPrefixLengthMax) throw new RangeError(`Range ${formatCidr(range)} is too small for host subnets: a /${range.prefixLength + 2} per host leaves no room for containers`);
  if (2 ** (prefixLength - range.prefixLength) > hostSubnetsMax) {
    throw new RangeError(`Range ${formatCidr(range)} holds more than ${hostSubnetsMax} /${prefixLength} host subnets; use a /${prefixLength - 16} or smaller`);
  }
  return prefixLength;
}

export interface HostSubnetChoice {
  /** The network's whole range (canonical). */
  readonly range: IpCidr;
  readonly hostPrefixLength: number;
  /** The subnets other hosts hold now. */
  readonly taken: readonly IpCidr[];
  /** The subnet this host held before (kept when still free, so a returning host keeps its containers' addresses). */
  readonly preferred?: IpCidr | undefined;
  /** A number in [0, 1): hosts claiming at once pick different subnets, so few claims collide. */
  readonly random: () => number;
}

/** Every host subnet of a range but the first, which holds the range's own network address (as Flannel skips it). */
export function hostSubnetCandidates(range: IpCidr, hostPrefixLength: number): IpCidr[] {
  if (hostPrefixLength < range.prefixLength || hostPrefixLength > hostPrefixLengthMax) throw new RangeError(`Host subnets of /${hostPrefixLength} do not fit ${formatCidr(range)}`);
  const count = 2 ** (hostPrefixLength - range.prefixLength);
  if (count > hostSubnetsMax) throw new RangeError(`Range ${formatCidr(range)} holds more than ${hostSubnetsMax} /${hostPrefixLength} host subnets`);
  const step = 1n << BigInt((range.address.family === 4 ? 32 : 128) - hostPrefixLength);
  const base = cidrCanonical(range).address;
  const candidates: IpCidr[] = [];
  for (let index = 1; index < count; index += 1) {
    const address = ipAdd(base, step * BigInt(index));
    if (address !== undefined) candidates.push(makeCidr(address, hostPrefixLength));
  }
  return candidates;
}

/**
 * A free host subnet of the range: the preferred one when it is still free, else a random free one; undefined when
 * every subnet is taken. Pure: the store transaction that claims it (and fails if another host claimed meanwhile)
 * lives with the store.
 */
export function chooseHostSubnet(choice: HostSubnetChoice): IpCidr | undefined {
  const isFree = (candidate: IpCidr): boolean => !choice.taken.some((other) => cidrOverlaps(other, candidate));
  const { preferred } = choice;
  if (preferred !== undefined && preferred.prefixLength === choice.hostPrefixLength && cidrContains(choice.range, preferred.address) && isFree(preferred)) {
    return cidrCanonical(preferred);
  }
  const free = hostSubnetCandidates(choice.range, choice.hostPrefixLength).filter(isFree);
  if (free.length === 0) return undefined;
  const index = Math.min(free.length - 1, Math.floor(choice.random() * free.length));
  return free[index];
}
