import { CniCode, CniError } from '../../errors.js';
import {
  cidrCanonical, formatCidr, formatIp, ipEquals, parseCidr, parseIp, type IpAddress, type IpFamily,
} from '../../net/ip.js';
import type { Link } from '../../net/link-model.js';
import type { Rtnl } from '../../net/rtnl.js';
import type { RouteScope } from '../../net/routes.js';
import { readSysctl, writeSysctl } from '../../net/sysctl.js';
import type { Result, ResultIp, ResultRoute } from '../../spec/result.js';

/**
 * The container side of an attachment, shared by bridge, macvlan, vxlan and host-device: applying an IPAM result
 * to the interface inside the container's netns (the reference's ipam.ConfigureIface), and checking it for CHECK.
 */

/** With `enableDad`, ADD waits this long at most for IPv6 duplicate address detection to finish (as the reference). */
export const dadSettleMsMax = 10_000;
const dadPollMs = 50;

/** What a container interface gets: the result's addresses that point at it and the result's routes. */
export interface InterfaceAddressing {
  readonly ips: readonly ResultIp[];
  readonly routes: readonly ResultRoute[];
}

export interface ConfigureInterfaceOptions {
  /** The container's netns (rtnl is bound to it): IPv6 sysctls are written there. */
  readonly netnsPath: string;
  readonly ifName: string;
  readonly addressing: InterfaceAddressing;
  /** Run IPv6 duplicate address detection and wait for it (the bridge's `enabledad`); off by default. */
  readonly enableDad?: boolean;
}

const scopeNames: Readonly<Record<number, RouteScope>> = { 0: 'universe', 253: 'link', 254: 'host' };

/** The addresses of `result` for interface `index` (or with no interface index) and all its routes. */
export function addressingOf(result: Result, index: number): InterfaceAddressing {
  return {
    ips: (result.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === index),
    routes: result.routes ?? [],
  };
}

/** The first gateway of each family: a route without `gw` goes through it (the reference's ConfigureIface). */
function gatewaysByFamily(ips: readonly ResultIp[]): Map<IpFamily, IpAddress> {
  const gateways = new Map<IpFamily, IpAddress>();
  for (const ip of ips) {
    if (ip.gateway === undefined) continue;
    const gateway = parseIp(ip.gateway);
    if (!gateways.has(gateway.family)) gateways.set(gateway.family, gateway);
  }
  return gateways;
}

/** Turns DAD off for the interface (so ADD never waits on it); a netns without IPv6 has no such sysctl, which is fine. */
export function disableDad(netnsPath: string, ifName: string): void {
  try {
    writeSysctl(netnsPath, `net/ipv6/conf/${ifName}/accept_dad`, '0');
  } catch {
    // IPv6 disabled in that netns: nothing to turn off.
  }
}

/** IPv6 must be enabled on lo and the interface before an IPv6 address can be added (as the reference ensures). */
function enableIpv6(netnsPath: string, ifName: string): void {
  for (const name of ['lo', ifName]) {
    const key = `net/ipv6/conf/${name}/disable_ipv6`;
    try {
      if (readSysctl(netnsPath, key) !== '0') writeSysctl(netnsPath, key, '0');
    } catch {
      // No IPv6 in this kernel or netns: adding the address will say so.
    }
  }
}

async function waitForDad(rtnl: Rtnl, ifName: string): Promise<void> {
  const deadline = Date.now() + dadSettleMsMax;
  for (;;) {
    const tentative = (await rtnl.addresses.list(ifName, 6)).filter((entry) => entry.tentative);
    if (tentative.length === 0) return;
    if (Date.now() >= deadline) {
      throw new CniError(CniCode.Internal, `Cannot configure ${ifName}: IPv6 ${tentative.map((entry) => formatCidr(entry.cidr)).join(', ')} still tentative after ${dadSettleMsMax} ms of duplicate address detection`);
    }
    await new Promise((resolve) => setTimeout(resolve, dadPollMs));
  }
}

/**
 * Brings the container interface up with its addresses and routes (rtnl is bound to the container netns). Routes
 * without a gateway use the interface's gateway of their family, as the reference's ConfigureIface does.
 */
export async function configureInterface(rtnl: Rtnl, options: ConfigureInterfaceOptions): Promise<void> {
  const { netnsPath, ifName, addressing } = options;
  const enableDad = options.enableDad ?? false;
  const hasIpv6 = addressing.ips.some((ip) => parseCidr(ip.address).address.family === 6);
  if (hasIpv6) enableIpv6(netnsPath, ifName);
  await rtnl.links.setUp(ifName);
  for (const ip of addressing.ips) await rtnl.addresses.ensure(ifName, ip.address, { noDad: !enableDad });
  const gateways = gatewaysByFamily(addressing.ips);
  for (const route of addressing.routes) {
    const dst = parseCidr(route.dst);
    const gateway = route.gw === undefined ? gateways.get(dst.address.family) : parseIp(route.gw);
    const scope = route.scope === undefined ? undefined : scopeNames[route.scope];
    await rtnl.routes.ensure({
      dst, dev: ifName,
      ...(gateway === undefined ? {} : { gateway }),
      ...(route.priority === undefined ? {} : { metric: route.priority }),
      ...(route.table === undefined ? {} : { table: route.table }),
      ...(scope === undefined ? {} : { scope }),
    });
  }
  if (enableDad && hasIpv6) await waitForDad(rtnl, ifName);
}

export function checkFailed(message: string): CniError {
  return new CniError(CniCode.Internal, `CHECK failed: ${message}`);
}

/** CHECK of the container side: the interface exists (with the MAC the result names), has its addresses and routes. */
export async function checkInterface(rtnl: Rtnl, ifName: string, expected: InterfaceAddressing & { mac?: string }): Promise<Link> {
  const link = await rtnl.links.find(ifName);
  if (link === undefined) throw checkFailed(`interface ${ifName} does not exist in the container`);
  if (expected.mac !== undefined && link.mac?.toLowerCase() !== expected.mac.toLowerCase()) {
    throw checkFailed(`interface ${ifName} has MAC ${link.mac ?? 'none'}, the result says ${expected.mac}`);
  }
  const present = (await rtnl.addresses.list(ifName)).map((entry) => formatCidr(entry.cidr));
  for (const ip of expected.ips) {
    const wanted = formatCidr(parseCidr(ip.address));
    if (!present.includes(wanted)) throw checkFailed(`interface ${ifName} lacks address ${wanted} (it has ${present.join(', ') || 'none'})`);
  }
  const gateways = gatewaysByFamily(expected.ips);
  const routes = await rtnl.routes.list({ dev: ifName });
  for (const route of expected.routes) {
    const dst = cidrCanonical(parseCidr(route.dst));
    const gateway = route.gw === undefined ? gateways.get(dst.address.family) : parseIp(route.gw);
    const found = routes.some((entry) => formatCidr(entry.dst) === formatCidr(dst) &&
      (gateway === undefined || (entry.gateway !== undefined && ipEquals(entry.gateway, gateway))));
    if (!found) throw checkFailed(`interface ${ifName} lacks route ${formatCidr(dst)}${gateway === undefined ? '' : ` via ${formatIp(gateway)}`}`);
  }
  return link;
}

/** The prevResult's interface named `ifName` in sandbox `netns`, and its index; CHECK fails without one. */
export function containerInterfaceOf(result: Result, ifName: string, netns: string): { index: number; mac: string | undefined } {
  const index = (result.interfaces ?? []).findIndex((item) => item.name === ifName && item.sandbox === netns);
  const found = result.interfaces?.[index];
  if (found === undefined) throw checkFailed(`prevResult lists no interface ${ifName} in sandbox ${netns}`);
  return { index, mac: found.mac };
}
