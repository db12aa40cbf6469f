import { CniCode, CniError } from '../../errors.js';
import type { Link } from '../../net/link-model.js';
import type { Rtnl } from '../../net/rtnl.js';

/**
 * The interface of the first default route (IPv4 first, then IPv6), as the reference's getDefaultRouteInterfaceName:
 * the `master` a macvlan gets when the config names none.
 */
export async function defaultRouteInterface(rtnl: Rtnl, where: string): Promise<Link> {
  const routes = await rtnl.routes.list();
  const route = routes.find((entry) => entry.dst.prefixLength === 0 && entry.oifIndex !== undefined);
  if (route?.oifIndex === undefined) {
    throw new CniError(CniCode.InvalidNetworkConfig, `Cannot pick a macvlan master: "master" is not set and ${where} has no default route`);
  }
  return rtnl.links.get(route.oifIndex);
}

/** The master link by name, or the default route's interface; a missing master is an invalid configuration (7). */
export async function resolveMaster(rtnl: Rtnl, name: string | undefined, where: string): Promise<Link> {
  if (name === undefined) return defaultRouteInterface(rtnl, where);
  const link = await rtnl.links.find(name);
  if (link === undefined) throw new CniError(CniCode.InvalidNetworkConfig, `Cannot use macvlan master ${name}: no such link in ${where}`);
  return link;
}
