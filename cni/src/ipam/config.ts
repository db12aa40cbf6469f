import { isAbsolute, join } from 'node:path';
import { CniCode, CniError } from '../errors.js';
import type { PluginConfig } from '../spec/config.js';
import { fieldPath, fieldValue, optionalArray, optionalString, type JsonObject } from '../spec/fields.js';
import { formatIp, tryParseIp, type IpAddress } from '../net/ip.js';
import { tryParseCidr } from '../spec/ip.js';
import { parseRoute, type ResultRoute } from '../spec/result.js';
import { parseRangeSets, parseRangeSpec, type RangeSpec } from '../spec/runtime-config.js';
import { canonicalizeRangeSet, describeRangeSet, rangeSetsOverlap, type RangeSet } from './range.js';

/** Where reservations live unless `ipam.dataDir` says otherwise (host-local uses /var/lib/cni/networks). */
export const DEFAULT_DATA_DIR = '/var/lib/berth/ipam';

/** The default dataDir: `$BERTH_ROOT/ipam` when BERTH_ROOT is set (tests, side-by-side installs), else DEFAULT_DATA_DIR. */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>>): string {
  const root = env['BERTH_ROOT'];
  return root !== undefined && isAbsolute(root) ? join(root, 'ipam') : DEFAULT_DATA_DIR;
}

/** Limits that keep a hostile configuration from costing more than a legitimate one ever needs. */
export const rangeSetsMax = 16;
export const rangesPerSetMax = 256;
export const routesMax = 1024;
export const requestedIpsMax = 16;

/** The IPAM part of a request, canonical: what the allocator and the store need. */
export interface IpamConfig {
  /** The network name: the store's subdirectory. */
  readonly network: string;
  readonly dataDir: string;
  readonly rangeSets: readonly RangeSet[];
  readonly routes: readonly ResultRoute[];
  readonly resolvConf?: string;
  /** Addresses asked for by `runtimeConfig.ips`, `args.cni.ips` or (only without `args.cni.ips`) CNI_ARGS `IP`. */
  readonly requestedIps: readonly IpAddress[];
}

function invalid(message: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: ${message}`);
}

/** "10.0.0.5" or "10.0.0.5/24": the address part (the prefix comes from the range). */
function parseRequestedIp(text: string, source: string, code: number): IpAddress {
  const address = text.includes('/') ? tryParseCidr(text)?.address : tryParseIp(text);
  if (address === undefined) throw new CniError(code, `Invalid requested IP "${text}" in ${source}`);
  return address;
}

function requestedIps(config: PluginConfig, cniArgs: ReadonlyMap<string, string>): IpAddress[] {
  const requested: IpAddress[] = [];
  (config.runtimeConfig.ips ?? []).forEach((text) => requested.push(parseRequestedIp(text, 'runtimeConfig.ips', CniCode.InvalidNetworkConfig)));
  (config.args.ips ?? []).forEach((text) => requested.push(parseRequestedIp(text, 'args.cni.ips', CniCode.InvalidNetworkConfig)));
  // CONVENTIONS.md: when `args` carries the equivalent key, CNI_ARGS IP is ignored.
  const envIp = cniArgs.get('IP');
  if (config.args.ips === undefined && envIp !== undefined && envIp !== '') {
    requested.push(parseRequestedIp(envIp, 'CNI_ARGS IP', CniCode.InvalidEnvironment));
  }
  if (requested.length > requestedIpsMax) throw invalid(`${requested.length} requested IPs exceed the limit of ${requestedIpsMax}`);
  const seen = new Set<string>();
  return requested.filter((address) => {
    const key = formatIp(address);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function rangeSpecs(config: PluginConfig, ipam: JsonObject): { specs: RangeSpec[][]; paths: string[] } {
  const specs: RangeSpec[][] = [];
  const paths: string[] = [];
  (config.runtimeConfig.ipRanges ?? []).forEach((set, index) => {
    specs.push([...set]);
    paths.push(fieldPath('runtimeConfig.ipRanges', index));
  });
  const subnetValue = fieldValue(ipam, 'subnet');
  if (typeof subnetValue === 'string' && subnetValue !== '') {
    specs.push([parseRangeSpec(ipam, 'ipam')]);
    paths.push('ipam');
  } else if (subnetValue !== undefined && subnetValue !== null && subnetValue !== '') {
    parseRangeSpec(ipam, 'ipam'); // throws the type error naming ipam.subnet
  }
  const ranges = optionalArray(ipam, 'ranges', 'ipam');
  if (ranges !== undefined) {
    parseRangeSets(ranges, 'ipam.ranges').forEach((set, index) => {
      specs.push(set);
      paths.push(fieldPath('ipam.ranges', index));
    });
  }
  return { specs, paths };
}

function canonicalRangeSets(config: PluginConfig, ipam: JsonObject): RangeSet[] {
  const { specs, paths } = rangeSpecs(config, ipam);
  if (specs.length === 0) throw invalid('no IP ranges specified (ipam.ranges, ipam.subnet or runtimeConfig.ipRanges)');
  if (specs.length > rangeSetsMax) throw invalid(`${specs.length} range sets exceed the limit of ${rangeSetsMax}`);
  const sets = specs.map((set, index) => {
    if (set.length > rangesPerSetMax) throw invalid(`"${paths[index]}" has ${set.length} ranges, over the limit of ${rangesPerSetMax}`);
    return canonicalizeRangeSet(set, paths[index] ?? 'ipam.ranges');
  });
  sets.forEach((set, index) => sets.slice(index + 1).forEach((other) => {
    if (rangeSetsOverlap(set, other)) throw invalid(`range sets ${describeRangeSet(set)} and ${describeRangeSet(other)} overlap`);
  }));
  return sets;
}

/**
 * The IPAM configuration of a request, host-local compatible: `ipam.ranges` (range sets), the legacy single range
 * (`ipam.subnet`, `rangeStart`, `rangeEnd`, `gateway`), `runtimeConfig.ipRanges` (prepended), `routes`, `dataDir`,
 * `resolvConf`, and requested IPs. Problems are code 7 naming the field (4 for CNI_ARGS). `env` supplies BERTH_ROOT.
 */
export function parseIpamConfig(config: PluginConfig, cniArgs: ReadonlyMap<string, string>,
  env: Readonly<Record<string, string | undefined>> = {}): IpamConfig {
  const ipam = config.ipam?.raw;
  if (ipam === undefined) throw invalid('"ipam" is required');
  const dataDir = optionalString(ipam, 'dataDir', 'ipam') || defaultDataDir(env);
  if (!isAbsolute(dataDir) || dataDir.includes('\0')) throw invalid(`"ipam.dataDir" "${dataDir}" must be an absolute path`);
  const routeList = optionalArray(ipam, 'routes', 'ipam') ?? [];
  if (routeList.length > routesMax) throw invalid(`"ipam.routes" has ${routeList.length} routes, over the limit of ${routesMax}`);
  const routes = routeList.map((route, index) => parseRoute(route, fieldPath('ipam.routes', index)));
  const resolvConf = optionalString(ipam, 'resolvConf', 'ipam');
  const parsed: IpamConfig = {
    network: config.name,
    dataDir,
    rangeSets: canonicalRangeSets(config, ipam),
    routes,
    requestedIps: requestedIps(config, cniArgs),
  };
  return resolvConf === undefined || resolvConf === '' ? parsed : { ...parsed, resolvConf };
}
