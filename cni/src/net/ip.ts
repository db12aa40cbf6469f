/**
 * IPv4/IPv6 addresses and CIDRs as data: parse (strictly), format (RFC 5952 for v6), and the arithmetic the
 * netlink layer and the IPAM share. Pure: no I/O, no sockets. Values are unsigned bigints in network order.
 */

export type IpFamily = 4 | 6;

/** An address: its family and its value as an unsigned integer (32 or 128 bits). */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** A prefix as written `ADDRESS/LENGTH`. `address` keeps its host bits (10.0.0.5/24 is an interface address). */
export interface IpCidr {
  readonly address: IpAddress;
  readonly prefixLength: number;
}

/** Input that is not a valid address or CIDR. `code` is stable for callers that branch on it. */
export class IpParseError extends Error {
  readonly code = 'INVALID_IP' as const;
  constructor(message: string) {
    super(message);
    this.name = 'IpParseError';
  }
}

const TEXT_LENGTH_MAX = 64; // "ffff:…:255.255.255.255/128" is 49 characters
const DECIMAL = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

function maxValue(family: IpFamily): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

function quote(text: string): string {
  return JSON.stringify(text.length > TEXT_LENGTH_MAX ? `${text.slice(0, TEXT_LENGTH_MAX)}…` : text);
}

function parseIpv4Value(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!DECIMAL.test(part)) return undefined; // no leading zeros: "010" is octal to some parsers
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseHexGroups(text: string): bigint[] | undefined {
  if (text === '') return [];
  const groups: bigint[] = [];
  const parts = text.split(':');
  for (const [index, part] of parts.entries()) {
    if (index === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4Value(part);
      if (v4 === undefined) return undefined;
      groups.push(v4 >> 16n, v4 & 0xffffn);
    } else {
      if (!HEX_GROUP.test(part)) return undefined;
      groups.push(BigInt(`0x${part}`));
    }
  }
  return groups;
}

function parseIpv6Value(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseHexGroups(halves[0] ?? '');
  // An embedded IPv4 address may only end the address, so only the last half may hold one.
  if (head === undefined || (halves.length === 2 && (halves[0] ?? '').includes('.'))) return undefined;
  const tail = halves.length === 2 ? parseHexGroups(halves[1] ?? '') : [];
  if (tail === undefined) return undefined;
  const explicit = head.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined; // "::" stands for at least one group
  const groups = [...head, ...new Array<bigint>(8 - explicit).fill(0n), ...tail];
  return groups.reduce((value, group) => (value << 16n) | group, 0n);
}

/** Parses an address, or returns undefined. Strict: no zones, no whitespace, no leading zeros in IPv4 octets. */
export function tryParseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > TEXT_LENGTH_MAX) return undefined;
  if (text.includes(':')) {
    const value = parseIpv6Value(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIpv4Value(text);
  return value === undefined ? undefined : { family: 4, value };
}

/** Parses an address. Throws IpParseError. */
export function parseIp(text: string): IpAddress {
  const address = tryParseIp(text);
  if (address === undefined) throw new IpParseError(`Invalid IP address ${quote(String(text))}`);
  return address;
}

/** Parses `ADDRESS/LENGTH`. Host bits are kept (use cidrNetwork to clear them). Throws IpParseError. */
export function parseCidr(text: string): IpCidr {
  const invalid = (why: string) => new IpParseError(`Invalid CIDR ${quote(String(text))}: ${why}`);
  if (typeof text !== 'string' || text.length > TEXT_LENGTH_MAX) throw invalid('not a CIDR');
  const slash = text.indexOf('/');
  if (slash < 0) throw invalid('missing "/prefix-length"');
  const address = tryParseIp(text.slice(0, slash));
  if (address === undefined) throw invalid('bad address');
  const lengthText = text.slice(slash + 1);
  if (!DECIMAL.test(lengthText)) throw invalid('bad prefix length');
  const prefixLength = Number(lengthText);
  if (prefixLength > familyBits(address.family)) throw invalid(`prefix length over ${familyBits(address.family)}`);
  return { address, prefixLength };
}

/** Builds a CIDR from parts, checking the length fits the family. Throws IpParseError. */
export function makeCidr(address: IpAddress, prefixLength: number): IpCidr {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > familyBits(address.family)) {
    throw new IpParseError(`Invalid prefix length ${prefixLength} for an IPv${address.family} address`);
  }
  return { address, prefixLength };
}

function formatIpv4Value(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** Formats an address: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run of 2+ groups as "::"). */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) return formatIpv4Value(address.value);
  const groups = [...Array(8).keys()].map((i) => Number((address.value >> BigInt(112 - 16 * i)) & 0xffffn));
  if (address.value >> 32n === 0xffffn) return `::ffff:${formatIpv4Value(address.value & 0xffffffffn)}`;
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end === start ? start + 1 : end;
  }
  const hex = (list: number[]) => list.map((group) => group.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function formatCidr(cidr: IpCidr): string {
  return `${formatIp(cidr.address)}/${cidr.prefixLength}`;
}

/** The address in network byte order: 4 or 16 bytes. */
export function ipToBytes(address: IpAddress): Buffer {
  const length = address.family === 4 ? 4 : 16;
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Number((address.value >> BigInt(8 * (length - 1 - i))) & 0xffn);
  return bytes;
}

/** Reads 4 bytes as IPv4 or 16 bytes as IPv6. Throws IpParseError for other lengths. */
export function ipFromBytes(bytes: Uint8Array): IpAddress {
  if (bytes.length !== 4 && bytes.length !== 16) throw new IpParseError(`Invalid IP address length ${bytes.length} bytes`);
  const value = bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  return { family: bytes.length === 4 ? 4 : 6, value };
}

/** The netmask of a prefix length as a value (e.g. /24 → 0xffffff00). */
export function prefixMask(family: IpFamily, prefixLength: number): bigint {
  const hostBits = BigInt(familyBits(family) - prefixLength);
  return maxValue(family) ^ ((1n << hostBits) - 1n);
}

/** The netmask as an address (255.255.255.0 for /24). */
export function cidrMask(cidr: IpCidr): IpAddress {
  return { family: cidr.address.family, value: prefixMask(cidr.address.family, cidr.prefixLength) };
}

/** The first address of the prefix (host bits cleared). */
export function cidrNetwork(cidr: IpCidr): IpAddress {
  return { family: cidr.address.family, value: cidr.address.value & prefixMask(cidr.address.family, cidr.prefixLength) };
}

/** The last address of the prefix (all host bits set: the IPv4 broadcast address). */
export function cidrBroadcast(cidr: IpCidr): IpAddress {
  const hostMask = maxValue(cidr.address.family) ^ prefixMask(cidr.address.family, cidr.prefixLength);
  return { family: cidr.address.family, value: cidrNetwork(cidr).value | hostMask };
}

/** The prefix with host bits cleared (10.0.0.5/24 → 10.0.0.0/24). */
export function cidrCanonical(cidr: IpCidr): IpCidr {
  return { address: cidrNetwork(cidr), prefixLength: cidr.prefixLength };
}

/** Number of addresses in the prefix. */
export function cidrSize(cidr: IpCidr): bigint {
  return 1n << BigInt(familyBits(cidr.address.family) - cidr.prefixLength);
}

/** Whether `address` is inside the prefix; false across families. */
export function cidrContains(cidr: IpCidr, address: IpAddress): boolean {
  if (cidr.address.family !== address.family) return false;
  const mask = prefixMask(address.family, cidr.prefixLength);
  return (address.value & mask) === (cidr.address.value & mask);
}

/** Whether two prefixes share any address; false across families. */
export function cidrOverlaps(a: IpCidr, b: IpCidr): boolean {
  const shorter = a.prefixLength <= b.prefixLength ? a : b;
  const longer = shorter === a ? b : a;
  return cidrContains(shorter, longer.address);
}

export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Orders IPv4 before IPv6, then by value. */
export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** `address + delta`, or undefined when it leaves the family's range. */
export function ipAdd(address: IpAddress, delta: bigint): IpAddress | undefined {
  const value = address.value + delta;
  if (value < 0n || value > maxValue(address.family)) return undefined;
  return { family: address.family, value };
}

/** The following address, or undefined after 255.255.255.255 / ffff:…:ffff. */
export function nextIp(address: IpAddress): IpAddress | undefined {
  return ipAdd(address, 1n);
}

/** The preceding address, or undefined before 0.0.0.0 / ::. */
export function previousIp(address: IpAddress): IpAddress | undefined {
  return ipAdd(address, -1n);
}
