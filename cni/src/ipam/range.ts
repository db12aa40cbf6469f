import { CniCode, CniError } from '../errors.js';
import { fieldPath } from '../spec/fields.js';
import {
  cidrBroadcast, cidrContains, cidrNetwork, familyBits, formatCidr,
  formatIp, tryParseIp, type IpAddress, type IpCidr, type IpFamily,
} from '../net/ip.js';
import { tryParseCidr } from '../spec/ip.js';
import type { RangeSpec } from '../spec/runtime-config.js';

/**
 * One allocation range, canonical: `subnet` is a network address, `start..end` (inclusive) lies inside it, and a
 * gateway is always known (the subnet's first address unless configured), as host-local does.
 * Never allocated: the gateway, the network address, and for IPv4 the broadcast address.
 */
export interface Range {
  readonly subnet: IpCidr;
  readonly start: IpAddress;
  readonly end: IpAddress;
  readonly gateway: IpAddress;
}

/** A range set: ranges of one family that do not overlap; one address is allocated per set. */
export type RangeSet = readonly Range[];

function invalid(message: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: ${message}`);
}

function parseMember(text: string | undefined, path: string, subnet: IpCidr, mustBeInside: boolean): IpAddress | undefined {
  if (text === undefined) return undefined;
  const address = tryParseIp(text);
  if (address === undefined) throw invalid(`"${path}" "${text}" is not an IP address`);
  if (address.family !== subnet.address.family) throw invalid(`"${path}" ${text} is not of the subnet's family (${formatCidr(subnet)})`);
  if (mustBeInside && !cidrContains(subnet, address)) throw invalid(`"${path}" ${text} is not in subnet ${formatCidr(subnet)}`);
  return address;
}

/** Canonicalises one range as host-local does; every problem is code 7 naming the field. */
export function canonicalizeRange(spec: RangeSpec, path: string): Range {
  const parsed = tryParseCidr(spec.subnet);
  if (parsed === undefined) throw invalid(`"${fieldPath(path, 'subnet')}" "${spec.subnet}" is not a subnet in CIDR notation`);
  const { family } = parsed.address;
  if (parsed.prefixLength > familyBits(family) - 2) throw invalid(`network ${spec.subnet} is too small to allocate from`);
  const network = cidrNetwork(parsed);
  if (network.value !== parsed.address.value) {
    throw invalid(`"${fieldPath(path, 'subnet')}" ${spec.subnet} has host bits set; the network address is ${formatIp(network)}`);
  }
  const subnet: IpCidr = { address: network, prefixLength: parsed.prefixLength };
  const start = parseMember(spec.rangeStart, fieldPath(path, 'rangeStart'), subnet, true)
    ?? { family, value: network.value + 1n };
  const last = cidrBroadcast(subnet);
  const end = parseMember(spec.rangeEnd, fieldPath(path, 'rangeEnd'), subnet, true)
    ?? { family, value: family === 4 ? last.value - 1n : last.value };
  if (start.value > end.value) throw invalid(`"${path}" rangeStart ${formatIp(start)} is after rangeEnd ${formatIp(end)}`);
  const gateway = parseMember(spec.gateway, fieldPath(path, 'gateway'), subnet, false) ?? { family, value: network.value + 1n };
  return { subnet, start, end, gateway };
}

export function rangeFamily(range: Range): IpFamily {
  return range.subnet.address.family;
}

/** Inside `start..end` (what host-local calls Contains). */
export function rangeContains(range: Range, address: IpAddress): boolean {
  return address.family === rangeFamily(range) && address.value >= range.start.value && address.value <= range.end.value;
}

/** Inside `start..end` and not the gateway, the network address or the IPv4 broadcast address. */
export function isAllocatable(range: Range, address: IpAddress): boolean {
  if (!rangeContains(range, address)) return false;
  if (address.value === range.gateway.value) return false;
  if (address.value === range.subnet.address.value) return false;
  return !(rangeFamily(range) === 4 && address.value === cidrBroadcast(range.subnet).value);
}

/** How many addresses of the range can ever be allocated. */
export function allocatableCount(range: Range): bigint {
  const excluded = new Set<bigint>([range.gateway.value, range.subnet.address.value]);
  if (rangeFamily(range) === 4) excluded.add(cidrBroadcast(range.subnet).value);
  let count = range.end.value - range.start.value + 1n;
  for (const value of excluded) if (value >= range.start.value && value <= range.end.value) count -= 1n;
  return count;
}

function rangesOverlap(a: Range, b: Range): boolean {
  return rangeFamily(a) === rangeFamily(b) && a.start.value <= b.end.value && b.start.value <= a.end.value;
}

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((left) => b.some((right) => rangesOverlap(left, right)));
}

export function describeRange(range: Range): string {
  return `${formatIp(range.start)}-${formatIp(range.end)}`;
}

export function describeRangeSet(set: RangeSet): string {
  return set.map(describeRange).join(',');
}

/** Canonicalises a range set: non-empty, one family, no overlapping ranges. */
export function canonicalizeRangeSet(specs: readonly RangeSpec[], path: string): RangeSet {
  if (specs.length === 0) throw invalid(`"${path}" is an empty range set`);
  const set = specs.map((spec, index) => canonicalizeRange(spec, fieldPath(path, index)));
  const family = rangeFamily(set[0] as Range);
  set.forEach((range, index) => {
    if (rangeFamily(range) !== family) throw invalid(`"${path}" mixes IPv4 and IPv6 ranges`);
    set.slice(index + 1).forEach((other) => {
      if (rangesOverlap(range, other)) throw invalid(`"${path}": ranges ${describeRange(range)} and ${describeRange(other)} overlap`);
    });
  });
  return set;
}
