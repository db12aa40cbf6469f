/** Input checks shared by the facets. Each throws a NetlinkError with code EINVAL naming the value. */
import { NetlinkError } from './errors.js';
import { parseIp, type IpAddress } from './ip.js';

const EINVAL = 22;
const IFNAME_BYTES_MAX = 15; // IFNAMSIZ - 1

export function invalid(what: string): NetlinkError {
  return new NetlinkError(EINVAL, what, { code: 'EINVAL' });
}

/** Linux interface names: 1-15 bytes, no "/", ":" or whitespace, not "." or "..". */
export function checkIfName(name: string, role = 'interface name'): string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > IFNAME_BYTES_MAX ||
      /[\s/:\0]/.test(name) || name === '.' || name === '..') {
    throw invalid(`use ${role} ${JSON.stringify(String(name))}: expected 1-${IFNAME_BYTES_MAX} bytes without "/", ":" or whitespace`);
  }
  return name;
}

export function checkInteger(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(`use ${what} ${value}: expected an integer in ${min}..${max}`);
  return value;
}

export function checkMtu(mtu: number): number {
  return checkInteger(mtu, 68, 65535, 'MTU');
}

export function checkVlan(vid: number): number {
  return checkInteger(vid, 1, 4094, 'VLAN id');
}

export function toIp(value: string | IpAddress, what: string): IpAddress {
  if (typeof value !== 'string') return value;
  try {
    return parseIp(value);
  } catch (error) {
    throw invalid(`use ${what} ${JSON.stringify(value.slice(0, 64))}: not an IP address`);
  }
}
