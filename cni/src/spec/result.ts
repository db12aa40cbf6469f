import { CniCode, CniError } from '../errors.js';
import {
  expectObject, fieldPath, fieldValue, invalidField, optionalArray, optionalString, optionalStringArray, optionalUint,
  requiredString, type JsonObject,
} from './fields.js';
import { tryParseIp } from '../net/ip.js';
import { tryParseCidr } from './ip.js';
import { isLegacyResultVersion, type CniVersion } from './version.js';

/** An interface of a result. `mtu`, `socketPath` and `pciID` exist from 1.0.0 on. */
export interface ResultInterface {
  readonly name: string;
  readonly mac?: string;
  readonly mtu?: number;
  readonly sandbox?: string;
  readonly socketPath?: string;
  readonly pciID?: string;
}

export interface ResultIp {
  /** CIDR with the host address, e.g. "10.1.0.5/16". */
  readonly address: string;
  readonly gateway?: string;
  /** Index into `interfaces`; absent in IPAM results. */
  readonly interface?: number;
}

export interface ResultRoute {
  readonly dst: string;
  readonly gw?: string;
  readonly mtu?: number;
  readonly advmss?: number;
  readonly priority?: number;
  readonly table?: number;
  readonly scope?: number;
}

export interface Dns {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

/**
 * A plugin's success result in Berth's canonical form: the 1.1.0 shape without `cniVersion`. Older versions are
 * converted on the way in (`parseResult`) and out (`encodeResult`).
 */
export interface Result {
  readonly interfaces?: readonly ResultInterface[];
  readonly ips?: readonly ResultIp[];
  readonly routes?: readonly ResultRoute[];
  readonly dns?: Dns;
}

function checkCidr(value: string, path: string): string {
  if (tryParseCidr(value) === undefined) throw invalidField(path, 'an address in CIDR notation', value);
  return value;
}

function checkIp(value: string | undefined, path: string): string | undefined {
  if (value !== undefined && tryParseIp(value) === undefined) throw invalidField(path, 'an IP address', value);
  return value;
}

/** Copies the listed optional keys whose values are defined, so `exactOptionalPropertyTypes` holds. */
function defined<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = item;
  return out as T;
}

function parseInterface(value: unknown, path: string): ResultInterface {
  const object = expectObject(value, path);
  return defined<ResultInterface>({
    name: requiredString(object, 'name', path),
    mac: optionalString(object, 'mac', path),
    mtu: optionalUint(object, 'mtu', path),
    sandbox: optionalString(object, 'sandbox', path),
    socketPath: optionalString(object, 'socketPath', path),
    pciID: optionalString(object, 'pciID', path),
  });
}

function parseIpConfig(value: unknown, path: string): ResultIp {
  const object = expectObject(value, path);
  const version = optionalString(object, 'version', path);
  const address = checkCidr(requiredString(object, 'address', path), fieldPath(path, 'address'));
  if (version !== undefined && version !== '4' && version !== '6') throw invalidField(fieldPath(path, 'version'), '"4" or "6"', version);
  return defined<ResultIp>({
    address,
    gateway: checkIp(optionalString(object, 'gateway', path), fieldPath(path, 'gateway')),
    interface: optionalUint(object, 'interface', path),
  });
}

export function parseRoute(value: unknown, path: string): ResultRoute {
  const object = expectObject(value, path);
  return defined<ResultRoute>({
    dst: checkCidr(requiredString(object, 'dst', path), fieldPath(path, 'dst')),
    gw: checkIp(optionalString(object, 'gw', path), fieldPath(path, 'gw')),
    mtu: optionalUint(object, 'mtu', path),
    advmss: optionalUint(object, 'advmss', path),
    priority: optionalUint(object, 'priority', path),
    table: optionalUint(object, 'table', path),
    scope: optionalUint(object, 'scope', path, 255),
  });
}

export function parseDns(value: unknown, path: string): Dns | undefined {
  if (value === undefined || value === null) return undefined;
  const object = expectObject(value, path);
  const dns = defined<Dns>({
    nameservers: optionalStringArray(object, 'nameservers', path),
    domain: optionalString(object, 'domain', path),
    search: optionalStringArray(object, 'search', path),
    options: optionalStringArray(object, 'options', path),
  });
  return isEmptyDns(dns) ? undefined : dns;
}

export function isEmptyDns(dns: Dns | undefined): boolean {
  return dns === undefined || ((dns.nameservers ?? []).length === 0 && (dns.domain ?? '') === ''
    && (dns.search ?? []).length === 0 && (dns.options ?? []).length === 0);
}

function parseList<T>(object: JsonObject, key: string, path: string, parse: (item: unknown, path: string) => T): readonly T[] | undefined {
  const list = optionalArray(object, key, path);
  return list?.map((item, index) => parse(item, fieldPath(fieldPath(path, key), index)));
}

/**
 * Parses a result of any supported version into the canonical form. Both shapes are accepted whatever the declared
 * version (0.3/0.4 `ips[].version` is checked and dropped; 1.x interface fields are kept), so a `prevResult` from an
 * older plugin is upgraded for the plugin that reads it. Wrong types are code 7 naming the field.
 */
export function parseResult(value: unknown, path = 'prevResult'): Result {
  const object = expectObject(value, path);
  const interfaces = parseList(object, 'interfaces', path, parseInterface);
  const ips = parseList(object, 'ips', path, parseIpConfig);
  ips?.forEach((ip, index) => {
    if (ip.interface !== undefined && interfaces !== undefined && ip.interface >= interfaces.length) {
      throw new CniError(CniCode.InvalidNetworkConfig,
        `Invalid network config: "${path}.ips[${index}].interface" is ${ip.interface} but there are ${interfaces.length} interfaces`);
    }
  });
  return defined<Result>({
    interfaces,
    ips,
    routes: parseList(object, 'routes', path, parseRoute),
    dns: parseDns(fieldValue(object, 'dns'), fieldPath(path, 'dns')),
  });
}

function encodeInterface(item: ResultInterface, legacy: boolean): JsonObject {
  if (!legacy) return { ...item };
  return defined<JsonObject>({ name: item.name, mac: item.mac, sandbox: item.sandbox });
}

function encodeIp(item: ResultIp, legacy: boolean): JsonObject {
  const base = defined<JsonObject>({ address: item.address, gateway: item.gateway, interface: item.interface });
  if (!legacy) return base;
  const family = tryParseCidr(item.address)?.address.family;
  if (family === undefined) throw new RangeError(`Cannot encode result address "${item.address}"`);
  return { version: String(family), ...base };
}

function nonEmpty<T>(list: readonly T[] | undefined): readonly T[] | undefined {
  return list === undefined || list.length === 0 ? undefined : list;
}

/**
 * The result as printed for a configuration of `version`: `cniVersion` first; for 0.3.x/0.4.0 every IP gets its
 * `version` ("4"/"6") and interfaces lose the 1.0 fields. Empty lists and empty DNS are left out.
 */
export function encodeResult(result: Result, version: CniVersion): JsonObject {
  const legacy = isLegacyResultVersion(version);
  return defined<JsonObject>({
    cniVersion: version,
    interfaces: nonEmpty(result.interfaces)?.map((item) => encodeInterface(item, legacy)),
    ips: nonEmpty(result.ips)?.map((item) => encodeIp(item, legacy)),
    routes: nonEmpty(result.routes)?.map((item) => ({ ...item })),
    dns: isEmptyDns(result.dns) ? undefined : { ...result.dns },
  });
}
