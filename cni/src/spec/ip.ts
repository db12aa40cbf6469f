/**
 * IP address and CIDR text, as integers. Internal to the CNI core and IPAM (the netlink helpers have their own);
 * parsing is strict: dotted quads without leading zeros, RFC 4291 IPv6 text without zones.
 */

export type IpFamily = 4 | 6;

/** An IP address as an unsigned integer of 32 (IPv4) or 128 (IPv6) bits. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

export interface IpPrefix {
  /** The address as written (host bits may be set, e.g. an interface address "10.0.0.5/24"). */
  readonly address: IpAddress;
  readonly prefixLength: number;
}

export function bitsOf(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseGroups(text: string): bigint[] | undefined {
  if (text === '') return [];
  const groups: bigint[] = [];
  const parts = text.split(':');
  for (const [index, part] of parts.entries()) {
    if (index === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(v4 >> 16n, v4 & 0xffffn);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      groups.push(BigInt(`0x${part}`));
    }
  }
  return groups;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail];
  return groups.reduce((value, group) => (value << 16n) | group, 0n);
}

const ipv4MappedPrefix = 0xffffn << 32n;

/** Parses an IP address; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become IPv4, as Go's net.IP does. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.length > 45) return undefined;
  if (!text.includes(':')) {
    const value = parseIpv4(text);
    return value === undefined ? undefined : { family: 4, value };
  }
  const value = parseIpv6(text);
  if (value === undefined) return undefined;
  if (value >> 32n === 0xffffn) return { family: 4, value: value - ipv4MappedPrefix };
  return { family: 6, value };
}

/** Parses `address/prefix`; the prefix is decimal without leading zeros and fits the family. */
export function parseCidr(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9]\d{0,2})$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  // An IPv4-mapped address written with an IPv6 prefix keeps the prefix relative to 128 bits.
  const mapped = address.family === 4 && text.slice(0, slash).includes(':');
  const adjusted = mapped ? prefixLength - 96 : prefixLength;
  if (adjusted < 0 || adjusted > bitsOf(address.family)) return undefined;
  return { address, prefixLength: adjusted };
}

export function formatIp(address: IpAddress): string {
  if (address.family === 4) {
    const v = address.value;
    return [24n, 16n, 8n, 0n].map((shift) => String((v >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, index) => Number((address.value >> BigInt(112 - 16 * index)) & 0xffffn));
  // RFC 5952: compress the first longest run of two or more zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start += 1) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length += 1;
    if (length > bestLength) { bestStart = start; bestLength = length; }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function formatCidr(prefix: IpPrefix): string {
  return `${formatIp(prefix.address)}/${prefix.prefixLength}`;
}

/** The all-ones mask of the host part of a prefix. */
export function hostMask(family: IpFamily, prefixLength: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefixLength)) - 1n;
}

/** The network address of a prefix (host bits cleared). */
export function networkOf(prefix: IpPrefix): IpAddress {
  const mask = hostMask(prefix.address.family, prefix.prefixLength);
  return { family: prefix.address.family, value: prefix.address.value & ~mask };
}

/** The last address of a prefix (host bits set): the IPv4 broadcast address. */
export function lastOf(prefix: IpPrefix): IpAddress {
  const mask = hostMask(prefix.address.family, prefix.prefixLength);
  return { family: prefix.address.family, value: prefix.address.value | mask };
}

export function prefixContains(prefix: IpPrefix, address: IpAddress): boolean {
  if (prefix.address.family !== address.family) return false;
  const mask = hostMask(address.family, prefix.prefixLength);
  return (prefix.address.value & ~mask) === (address.value & ~mask);
}

export function sameIp(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}
