import { CniCode, CniError } from '../../errors.js';
import {
  cidrContains, cidrCanonical, formatCidr, formatIp, ipEquals, parseCidr, parseIp, type IpAddress, type IpFamily,
} from '../../net/ip.js';
import type { Link } from '../../net/link-model.js';
import type { Rtnl } from '../../net/rtnl.js';
import type { RouteScope } from '../../net/routes.js';
import { writeSysctl } from '../../net/sysctl.js';
import type { ResultIp, ResultRoute } from '../../spec/result.js';

/** With `enabledad`, ADD waits this long at most for IPv6 duplicate address detection to finish (as the reference). */
export const dadSettleMsMax = 10_000;
const dadPollMs = 50;

/** The addresses and routes an interface gets: the result entries that point at it. */
export interface InterfaceAddressing {
  readonly ips: readonly ResultIp[];
  readonly routes: readonly ResultRoute[];
}

const scopeNames: Readonly<Record<number, RouteScope>> = { 0: 'universe', 253: 'link', 254: 'host' };

/** The gateway of each family among the interface's addresses: routes without `gw` go through it (as the reference). */
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
export async function configureInterface(rtnl: Rtnl, ifName: string, addressing: InterfaceAddressing,
  options: { enableDad: boolean }): Promise<void> {
  await rtnl.links.setUp(ifName);
  for (const ip of addressing.ips) await rtnl.addresses.ensure(ifName, ip.address, { noDad: !options.enableDad });
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
  if (options.enableDad && addressing.ips.some((ip) => parseCidr(ip.address).address.family === 6)) await waitForDad(rtnl, ifName);
}

function checkFailed(message: string): CniError {
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
  const routes = await rtnl.routes.list({ dev: ifName });
  const gateways = gatewaysByFamily(expected.ips);
  for (const route of expected.routes) {
    const dst = cidrCanonical(parseCidr(route.dst));
    const gateway = route.gw === undefined ? gateways.get(dst.address.family) : parseIp(route.gw);
    const found = routes.some((entry) => formatCidr(entry.dst) === formatCidr(dst) &&
      (gateway === undefined || (entry.gateway !== undefined && ipEquals(entry.gateway, gateway))));
    if (!found) throw checkFailed(`interface ${ifName} lacks route ${formatCidr(dst)}${gateway === undefined ? '' : ` via ${formatIp(gateway)}`}`);
  }
  return link;
}

/** True when `address` lies in the subnet of `cidr` (same family). */
export function inSubnet(cidr: string, address: IpAddress): boolean {
  const parsed = parseCidr(cidr);
  return parsed.address.family === address.family && cidrContains(cidrCanonical(parsed), address);
}
