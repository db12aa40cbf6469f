/**
 * The cluster's networks in the store: `networks/<name>` (written by managers, read by every host) and each host's
 * overlay lease `overlay/<nodeId>/<network>` (written by that host only, under its liveness lease; read by every
 * host). The node a lease belongs to is the one its key names, never a field of its value. Access rows:
 * secrets/src/cluster/access.ts (`networks/`: managers rw, workers r; `overlay/`: workers r all, rw own prefix).
 */
import {
  cidrCanonical, formatCidr, formatMac, hostPrefixLengthMax, parseMac, tryParseCidr, tryParseIp, validateNetworkName, vniMax, vniMin,
} from '@berth/cni';
import { keyspaceRoot, defineCollection, type Collection } from '../store/keyspace.js';

export const networkDrivers = ['bridge', 'macvlan', 'vxlan'] as const;
export type NetworkDriver = (typeof networkDrivers)[number];
/** Keys of the driver plugin that Berth sets itself; `--opt` may not. */
export const reservedOptionKeys = ['type', 'ipam', 'name', 'cniVersion', 'subnet', 'vni', 'peers', 'hostSubnet', 'localAddress', 'berth'] as const;
export const networkOptionsMax = 32;
export const networkSubnetsMax = 8;
export const staticPeersMax = 1024;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A network defined once for the whole cluster; every host renders its conflist from this. */
export interface NetworkRecord {
  readonly name: string;
  readonly driver: NetworkDriver;
  /** Canonical CIDRs; a vxlan network has one (the overlay's whole IPv4 range). */
  readonly subnets: readonly string[];
  readonly gateway?: string | undefined;
  /** vxlan only: the VNI (chosen by the cluster when not given). */
  readonly vni?: number | undefined;
  /** vxlan without static peers: the size of each host's leased subnet. */
  readonly hostPrefixLength?: number | undefined;
  /** vxlan with static peers (`--peer`): no leases, the conflist carries them as written. */
  readonly peers?: readonly { readonly address: string; readonly subnet: string }[] | undefined;
  /** Driver options (`--opt key=value`), passed to the driver plugin as written. */
  readonly options: Readonly<Record<string, JsonValue>>;
  readonly createdAt: string;
}

/** One host's part of a vxlan network: its subnet of the range and its VTEP. */
export interface OverlayLeaseRecord {
  readonly network: string;
  /** The network's VNI when the lease was made: a lease of an older network of the same name never counts. */
  readonly vni: number;
  readonly subnet: string;
  /** The host's VTEP (underlay) address. */
  readonly vtep: string;
  /** Its VXLAN device's MAC. */
  readonly mac: string;
  readonly hostname: string;
}

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${what} must be an object`);
  return value as Json;
}

function text(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new TypeError(`${name} must be a string of 1-${max} characters`);
  return value;
}

function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new TypeError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function optional<T>(value: unknown, parse: (value: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : parse(value);
}

/** A CIDR written canonically (no host bits), else a TypeError naming the field and the canonical form. */
export function canonicalCidr(value: unknown, name: string): string {
  const cidr = tryParseCidr(text(value, name, 64));
  if (cidr === undefined) throw new TypeError(`${name} ${JSON.stringify(value)} is not a CIDR`);
  const canonical = formatCidr(cidrCanonical(cidr));
  if (canonical !== formatCidr(cidr)) throw new TypeError(`${name} ${String(value)} has host bits set (did you mean ${canonical}?)`);
  return canonical;
}

function address(value: unknown, name: string): string {
  const parsed = tryParseIp(text(value, name, 64));
  if (parsed === undefined) throw new TypeError(`${name} ${JSON.stringify(value)} is not an IP address`);
  return value as string;
}

function jsonValue(value: unknown, depth: number): JsonValue {
  if (depth > 8) throw new TypeError('option values nest more than 8 levels');
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.map((item) => jsonValue(item, depth + 1));
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsonValue(item, depth + 1)]));
  throw new TypeError(`option value ${String(value)} is not JSON`);
}

function networkOptions(value: unknown): Record<string, JsonValue> {
  const entries = Object.entries(object(value ?? {}, 'options'));
  if (entries.length > networkOptionsMax) throw new TypeError(`options has ${entries.length} keys, more than ${networkOptionsMax}`);
  for (const [key] of entries) {
    if (!/^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/.test(key)) throw new TypeError(`option ${JSON.stringify(key.slice(0, 70))} is not a plugin key`);
    if ((reservedOptionKeys as readonly string[]).includes(key)) throw new TypeError(`option ${key} is set by Berth`);
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, jsonValue(item, 0)]));
}

function driver(value: unknown): NetworkDriver {
  if (!(networkDrivers as readonly unknown[]).includes(value)) throw new TypeError(`driver must be one of ${networkDrivers.join(', ')}`);
  return value as NetworkDriver;
}

/** Parses and checks a network record (the store's codec and the API's input check share it). */
export function parseNetworkRecord(value: unknown): NetworkRecord {
  const v = object(value, 'a network');
  const name = text(v['name'], 'name', 64);
  try {
    validateNetworkName(name);
  } catch (error) {
    throw new TypeError((error as Error).message.replace(/^Invalid network config: /, ''));
  }
  const kind = driver(v['driver']);
  const subnetsValue = v['subnets'];
  if (!Array.isArray(subnetsValue) || subnetsValue.length === 0 || subnetsValue.length > networkSubnetsMax) throw new TypeError(`subnets must be a list of 1-${networkSubnetsMax} CIDRs`);
  const subnets = subnetsValue.map((subnet, index) => canonicalCidr(subnet, `subnets[${index}]`));
  const record: NetworkRecord = {
    name, driver: kind, subnets,
    gateway: optional(v['gateway'], (gateway) => address(gateway, 'gateway')),
    vni: optional(v['vni'], (vni) => integer(vni, 'vni', vniMin, vniMax)),
    hostPrefixLength: optional(v['hostPrefixLength'], (length) => integer(length, 'hostPrefixLength', 1, hostPrefixLengthMax)),
    peers: optional(v['peers'], staticPeers),
    options: networkOptions(v['options']),
    createdAt: text(v['createdAt'], 'createdAt', 64),
  };
  checkDriver(record);
  return record;
}

function staticPeers(value: unknown): Array<{ address: string; subnet: string }> {
  if (!Array.isArray(value) || value.length === 0 || value.length > staticPeersMax) throw new TypeError(`peers must be a list of 1-${staticPeersMax}`);
  return value.map((item, index) => {
    const peer = object(item, `peers[${index}]`);
    return { address: address(peer['address'], `peers[${index}].address`), subnet: canonicalCidr(peer['subnet'], `peers[${index}].subnet`) };
  });
}

function checkDriver(record: NetworkRecord): void {
  if (record.driver !== 'vxlan') {
    for (const field of ['vni', 'hostPrefixLength', 'peers'] as const) if (record[field] !== undefined) throw new TypeError(`${field} is for vxlan networks only`);
    return;
  }
  const [range, ...more] = record.subnets;
  if (range === undefined || more.length > 0 || !range.includes('.')) throw new TypeError('a vxlan network takes one IPv4 subnet, the overlay\'s whole range');
  if (record.gateway !== undefined) throw new TypeError('a vxlan network has no gateway: each host\'s is the first address of its own subnet');
  if (record.vni === undefined) throw new TypeError('a vxlan network needs its vni');
  if ((record.peers === undefined) === (record.hostPrefixLength === undefined)) throw new TypeError('a vxlan network has either static peers or a hostPrefixLength for its leases');
  const prefixLength = Number(range.split('/')[1]);
  if (record.hostPrefixLength !== undefined && record.hostPrefixLength < prefixLength) throw new TypeError(`hostPrefixLength ${record.hostPrefixLength} is wider than the range ${range}`);
}

export function parseOverlayLease(value: unknown): OverlayLeaseRecord {
  const v = object(value, 'an overlay lease');
  const mac = text(v['mac'], 'mac', 17);
  let canonicalMac: string;
  try {
    canonicalMac = formatMac(parseMac(mac));
  } catch {
    throw new TypeError(`mac ${JSON.stringify(mac)} is not a MAC address`);
  }
  if (canonicalMac !== mac) throw new TypeError(`mac ${mac} is not written canonically (${canonicalMac})`);
  return {
    network: text(v['network'], 'network', 64), vni: integer(v['vni'], 'vni', vniMin, vniMax), subnet: canonicalCidr(v['subnet'], 'subnet'),
    vtep: address(v['vtep'], 'vtep'), mac, hostname: text(v['hostname'], 'hostname', 255),
  };
}

export const networksCollection = defineCollection<NetworkRecord>('networks', parseNetworkRecord, { valueBytesMax: 256 * 1024 });

/** Every host's overlay leases live under this prefix; a host's own under `overlay/<nodeId>/`. */
export const overlayPrefix = `${keyspaceRoot}overlay/`;

const leaseCollections = new Map<string, Collection<OverlayLeaseRecord>>();

/** The overlay leases of one node, by network name. */
export function overlayLeasesCollection(nodeId: string): Collection<OverlayLeaseRecord> {
  let collection = leaseCollections.get(nodeId);
  if (collection === undefined) {
    collection = defineCollection<OverlayLeaseRecord>(`overlay/${nodeId}`, parseOverlayLease, { valueBytesMax: 4 * 1024 });
    if (leaseCollections.size < 4096) leaseCollections.set(nodeId, collection);
  }
  return collection;
}
