import { CniCode, CniError } from '../../errors.js';
import { cidrNetwork, formatIp, makeCidr, nextIp, parseCidr, parseIp, type IpCidr, type IpFamily } from '../../net/ip.js';
import type { Dns, Result, ResultIp, ResultRoute } from '../../spec/result.js';
import type { BridgeConfig } from './config.js';

/** What the IPAM result becomes on a bridge: the container's addresses and routes, and the bridge's own addresses. */
export interface AddressPlan {
  /** The container's addresses, each pointing at the container interface, with gateways filled in when isGateway. */
  readonly ips: readonly ResultIp[];
  readonly routes: readonly ResultRoute[];
  /** Gateway addresses (with the subnet's prefix length) the bridge carries when isGateway; one per subnet. */
  readonly bridgeAddresses: readonly IpCidr[];
  /** IPAM's DNS settings, passed through. */
  readonly dns?: Dns;
}

const defaultDestination: Readonly<Record<IpFamily, string>> = { 4: '0.0.0.0/0', 6: '::/0' };

function isDefaultRoute(route: ResultRoute, family: IpFamily): boolean {
  const dst = parseCidr(route.dst);
  return dst.prefixLength === 0 && dst.address.family === family;
}

/**
 * Plans addresses as the reference bridge does: with isGateway every address gets a gateway (IPAM's, or the first
 * address of its subnet) which the bridge carries; with isDefaultGateway a default route per family goes through it,
 * unless IPAM already set one (an error, as the reference: the option would be ineffective). Pure.
 */
export function planAddresses(ipam: Result, config: BridgeConfig, containerInterface: number): AddressPlan {
  const bridgeAddresses = new Map<string, IpCidr>();
  const gateways = new Map<IpFamily, string>();
  const ips = (ipam.ips ?? []).map((ip): ResultIp => {
    const cidr = parseCidr(ip.address);
    let gateway = ip.gateway;
    if (config.isGateway) {
      const first = nextIp(cidrNetwork(cidr));
      gateway ??= first === undefined ? undefined : formatIp(first);
      if (gateway === undefined) throw new CniError(CniCode.InvalidNetworkConfig, `Cannot pick a gateway for ${ip.address}: the subnet has no usable address`);
      const gatewayCidr = makeCidr(parseIp(gateway), cidr.prefixLength);
      bridgeAddresses.set(`${gateway}/${cidr.prefixLength}`, gatewayCidr);
      if (!gateways.has(cidr.address.family)) gateways.set(cidr.address.family, gateway);
    }
    return { address: ip.address, ...(gateway === undefined ? {} : { gateway }), interface: containerInterface };
  });
  const routes = [...(ipam.routes ?? [])];
  if (config.isDefaultGateway) {
    for (const [family, gateway] of gateways) {
      if (routes.some((route) => isDefaultRoute(route, family))) {
        throw new CniError(CniCode.InvalidNetworkConfig, `Invalid network config: "isDefaultGateway" is ineffective because IPAM sets an IPv${family} default route`);
      }
      routes.push({ dst: defaultDestination[family], gw: gateway });
    }
  }
  return { ips, routes, bridgeAddresses: [...bridgeAddresses.values()], ...(ipam.dns === undefined ? {} : { dns: ipam.dns }) };
}
