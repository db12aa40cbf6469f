import { formatIp, parseCidr, type IpAddress } from '../../net/ip.js';
import type { Link } from '../../net/link-model.js';
import type { Rtnl } from '../../net/rtnl.js';
import type { OverlayHost } from '../../overlay/host.js';
import { hashHex } from '../../overlay/hash.js';
import type { CniRequest } from '../../skel/plugin.js';
import type { ResultIp, ResultRoute } from '../../spec/result.js';
import type { UndoStack } from '../common/undo.js';

/**
 * The host end of an attachment's veth: `bvv` and 11 hex digits of a hash of network, container and interface.
 * Deterministic, so DEL finds it without the container netns; distinct from berth-bridge's `veth…` names.
 */
export function hostVethName(network: string, containerId: string, ifName: string): string {
  return `bvv${hashHex(`${network}/${containerId}/${ifName}`, 11)}`;
}

/**
 * The container's veth: the host end on the overlay bridge, the container end created directly in the container
 * netns as CNI_IFNAME; both with the overlay's MTU. Pushes the undo step that removes the pair.
 */
export async function createContainerVeth(host: Rtnl, request: CniRequest, overlay: OverlayHost, undo: UndoStack): Promise<{ hostLink: Link; containerLink: Link }> {
  const name = hostVethName(request.config.name, request.containerId, request.ifName);
  const { link, peer } = await host.links.createVeth({
    name, mtu: overlay.mtu, master: overlay.network.bridge,
    peer: { name: request.ifName, netnsPath: request.netns, mtu: overlay.mtu },
  });
  undo.push(`delete veth ${name}`, () => host.links.remove(name));
  await host.links.setUp(name);
  return { hostLink: link, containerLink: peer };
}

/** The routes a container gets: a default route through the host's gateway, or only one to the overlay's range. */
export function containerRoutes(overlay: OverlayHost, isDefaultGateway: boolean, ipamRoutes: readonly ResultRoute[]): ResultRoute[] {
  const gateway = formatIp(overlay.gateway.address);
  const own: ResultRoute = isDefaultGateway
    ? { dst: '0.0.0.0/0', gw: gateway }
    : { dst: `${formatIp(overlay.network.cidr.address)}/${overlay.network.cidr.prefixLength}`, gw: gateway };
  const routes = [own];
  for (const route of ipamRoutes) if (!routes.some((item) => item.dst === route.dst)) routes.push(route);
  return routes;
}

/** The IPAM addresses for the container interface at `index`, each with the host's gateway when IPAM gave none. */
export function containerIps(ips: readonly ResultIp[], overlay: OverlayHost, index: number): ResultIp[] {
  return ips.map((ip) => ({
    ...ip, interface: index,
    ...(ip.gateway === undefined && parseCidr(ip.address).address.family === overlay.gateway.address.family
      ? { gateway: formatIp(overlay.gateway.address) } : {}),
  }));
}

/** The addresses of `ips` in the overlay's family (those that masquerade and routing concern). */
export function overlayAddresses(ips: readonly ResultIp[], overlay: OverlayHost): IpAddress[] {
  return ips.map((ip) => parseCidr(ip.address).address).filter((address) => address.family === overlay.network.cidr.address.family);
}
