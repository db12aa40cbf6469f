import {
  expectObject, fieldPath, fieldValue, invalidField, optionalArray, optionalString, optionalStringArray, optionalUint,
  requiredString, type JsonObject,
} from './fields.js';
import { tryParseIp } from '../net/ip.js';

/** One entry of the `portMappings` capability (CONVENTIONS.md). */
export interface PortMapping {
  readonly hostPort: number;
  readonly containerPort: number;
  /** As given, lower-cased ("tcp", "udp", "sctp"); the port-mapping plugin decides which it supports. */
  readonly protocol: string;
  readonly hostIP?: string;
}

/** One range of the `ipRanges` capability: the same shape as a host-local `ranges` entry. */
export interface RangeSpec {
  readonly subnet: string;
  readonly rangeStart?: string;
  readonly rangeEnd?: string;
  readonly gateway?: string;
}

/** The `dns` capability (CONVENTIONS.md names its lists `servers` and `searches`). */
export interface RuntimeDns {
  readonly servers?: readonly string[];
  readonly searches?: readonly string[];
  readonly options?: readonly string[];
}

/**
 * Capability arguments the runtime inserted. Known ones are parsed and type-checked; all of them, known or not
 * (`bandwidth`, `deviceID`, ...), stay available in `raw`.
 */
export interface RuntimeConfig {
  readonly portMappings?: readonly PortMapping[];
  readonly ips?: readonly string[];
  readonly mac?: string;
  readonly ipRanges?: readonly (readonly RangeSpec[])[];
  readonly dns?: RuntimeDns;
  readonly raw: JsonObject;
}

function parsePortMapping(value: unknown, path: string): PortMapping {
  const object = expectObject(value, path);
  const port = (key: string): number => {
    const number = optionalUint(object, key, path, 65535);
    if (number === undefined) throw invalidField(fieldPath(path, key), 'a port number', fieldValue(object, key));
    return number;
  };
  const hostIP = optionalString(object, 'hostIP', path);
  if (hostIP !== undefined && hostIP !== '' && tryParseIp(hostIP) === undefined) throw invalidField(fieldPath(path, 'hostIP'), 'an IP address', hostIP);
  const mapping = {
    hostPort: port('hostPort'),
    containerPort: port('containerPort'),
    protocol: (optionalString(object, 'protocol', path) ?? 'tcp').toLowerCase(),
  };
  return hostIP === undefined || hostIP === '' ? mapping : { ...mapping, hostIP };
}

export function parseRangeSpec(value: unknown, path: string): RangeSpec {
  const object = expectObject(value, path);
  const spec: { subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string } = {
    subnet: requiredString(object, 'subnet', path),
  };
  for (const key of ['rangeStart', 'rangeEnd', 'gateway'] as const) {
    const text = optionalString(object, key, path);
    if (text !== undefined && text !== '') spec[key] = text;
  }
  return spec;
}

/** A list of range sets (`ranges` of host-local, the `ipRanges` capability): each set a non-empty list of ranges. */
export function parseRangeSets(list: readonly unknown[], path: string): RangeSpec[][] {
  return list.map((set, setIndex) => {
    const setPath = fieldPath(path, setIndex);
    if (!Array.isArray(set)) throw invalidField(setPath, 'an array of ranges', set);
    return set.map((range, index) => parseRangeSpec(range, fieldPath(setPath, index)));
  });
}

function parseRuntimeDns(value: unknown, path: string): RuntimeDns {
  const object = expectObject(value, path);
  const dns: { servers?: readonly string[]; searches?: readonly string[]; options?: readonly string[] } = {};
  for (const key of ['servers', 'searches', 'options'] as const) {
    const list = optionalStringArray(object, key, path);
    if (list !== undefined) dns[key] = list;
  }
  return dns;
}

export function parseRuntimeConfig(value: unknown, path = 'runtimeConfig'): RuntimeConfig {
  if (value === undefined || value === null) return { raw: {} };
  const object = expectObject(value, path);
  const config: {
    portMappings?: readonly PortMapping[]; ips?: readonly string[]; mac?: string;
    ipRanges?: readonly (readonly RangeSpec[])[]; dns?: RuntimeDns; raw: JsonObject;
  } = { raw: object };
  const portMappings = optionalArray(object, 'portMappings', path);
  if (portMappings !== undefined) {
    config.portMappings = portMappings.map((item, index) => parsePortMapping(item, fieldPath(fieldPath(path, 'portMappings'), index)));
  }
  const ips = optionalStringArray(object, 'ips', path);
  if (ips !== undefined) config.ips = ips;
  const mac = optionalString(object, 'mac', path);
  if (mac !== undefined && mac !== '') config.mac = mac;
  const ipRanges = optionalArray(object, 'ipRanges', path);
  if (ipRanges !== undefined) config.ipRanges = parseRangeSets(ipRanges, fieldPath(path, 'ipRanges'));
  const dns = fieldValue(object, 'dns');
  if (dns !== undefined && dns !== null) config.dns = parseRuntimeDns(dns, fieldPath(path, 'dns'));
  return config;
}
