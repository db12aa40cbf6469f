/** IPv4 and IPv6 addresses as unsigned integers, so CIDRs and ranges are plain integer intervals. */

export type Family = 4 | 6;

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

/** An inclusive address interval of one family. */
export interface AddressRange {
  readonly family: Family;
  readonly low: bigint;
  readonly high: bigint;
}

export interface Cidr extends AddressRange {
  readonly prefixLength: number;
  /** Canonical text (`10.0.0.0/24`, `fd00::/64`). */
  readonly text: string;
}

const familyBits: Record<Family, number> = { 4: 32, 6: 128 };

export function familyMax(family: Family): bigint {
  return (1n << BigInt(familyBits[family])) - 1n;
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6Groups(text: string): number[] | null {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (const [index, part] of parts.entries()) {
    if (index === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

function parseIpv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseIpv6Groups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseIpv6Groups(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** Parses a textual IPv4 or IPv6 address; null when it is not one. */
export function parseAddress(text: string): Address | null {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === null ? null : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === null ? null : { family: 4, value };
}

function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, index) => Number((value >> BigInt(112 - 16 * index)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start += 1) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length += 1;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function formatAddress(address: Address): string {
  if (address.family === 6) return formatIpv6(address.value);
  const value = address.value;
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** Canonical text of an address (`::ffff:0:1` style compression for IPv6); null when invalid. */
export function canonicalAddress(text: string): string | null {
  const address = parseAddress(text);
  return address === null ? null : formatAddress(address);
}

/**
 * Parses `ADDRESS/PREFIX`. Host bits are cleared, as Kubernetes' net.ParseCIDR does (`10.0.0.1/24` is
 * `10.0.0.0/24`). Null when malformed.
 */
export function parseCidr(text: string): Cidr | null {
  const match = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(text);
  if (match === null) return null;
  const address = parseAddress(match[1] ?? '');
  const prefixLength = Number(match[2]);
  if (address === null || prefixLength > familyBits[address.family]) return null;
  const hostBits = BigInt(familyBits[address.family] - prefixLength);
  const low = (address.value >> hostBits) << hostBits;
  const high = low | ((1n << hostBits) - 1n);
  return {
    family: address.family,
    low,
    high,
    prefixLength,
    text: `${formatAddress({ family: address.family, value: low })}/${prefixLength}`,
  };
}

export function rangeContains(range: AddressRange, address: Address): boolean {
  return range.family === address.family && range.low <= address.value && address.value <= range.high;
}
