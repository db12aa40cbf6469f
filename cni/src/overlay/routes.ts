import { AF_INET, AF_INET6, NLM_F, RTA, RTM, RTN_UNICAST, RT_SCOPE, RT_TABLE_MAIN } from '../net/constants.js';
import { attr, encodeRtMsg, u32 } from '../net/codec.js';
import { isNotFound } from '../net/errors.js';
import { formatCidr, formatIp, ipToBytes, type IpAddress, type IpCidr } from '../net/ip.js';
import type { RouteEntry } from '../net/routes.js';
import type { Rtnl } from '../net/rtnl.js';
import { RtnlSocket } from '../net/socket.js';

/**
 * The routing protocol number on every route the overlay programs (rtm_protocol, `proto 98` in `ip route`): how a
 * host tells its overlay routes from everyone else's when it reconciles. 98 is unassigned in rtnetlink.h and
 * iproute2's rt_protos.
 */
export const overlayRouteProtocol = 98;
/** RTNH_F_ONLINK: the gateway is on the link even though no address of the link covers it. */
const RTNH_F_ONLINK = 4;

/** An overlay route: `dst via gateway dev <oif> [onlink] proto 98`. */
export interface OverlayRouteSpec {
  readonly dst: IpCidr;
  readonly gateway: IpAddress;
  readonly oifIndex: number;
  readonly onlink: boolean;
}

function message(spec: OverlayRouteSpec, remove: boolean): Buffer[] {
  const family = spec.dst.address.family === 4 ? AF_INET : AF_INET6;
  return [
    encodeRtMsg({
      family, dstLength: spec.dst.prefixLength, srcLength: 0, tos: 0, table: RT_TABLE_MAIN, protocol: overlayRouteProtocol,
      scope: RT_SCOPE.universe, type: RTN_UNICAST, flags: spec.onlink && !remove ? RTNH_F_ONLINK : 0,
    }),
    attr(RTA.TABLE, u32(RT_TABLE_MAIN)),
    attr(RTA.DST, ipToBytes(spec.dst.address)),
    attr(RTA.GATEWAY, ipToBytes(spec.gateway)),
    attr(RTA.OIF, u32(spec.oifIndex)),
  ];
}

/**
 * Overlay routes in one netns. The shared RouteOps cannot set a protocol or the on-link flag, so these few messages
 * are built here over their own socket.
 */
export class OverlayRouteOps {
  readonly #socket: RtnlSocket;

  constructor(netnsPath: string | undefined) {
    this.#socket = new RtnlSocket(netnsPath);
  }

  /** Adds the route, or replaces the one to the same destination (a peer moved between VXLAN and direct). */
  async ensure(spec: OverlayRouteSpec): Promise<void> {
    await this.#socket.request(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.REPLACE, message(spec, false),
      `ensure overlay route ${formatCidr(spec.dst)} via ${formatIp(spec.gateway)} in ${this.#socket.netnsLabel}`);
  }

  /** Removes exactly that route (destination, gateway and device); false when there is none. */
  async remove(spec: OverlayRouteSpec): Promise<boolean> {
    try {
      await this.#socket.request(RTM.DELROUTE, 0, message(spec, true),
        `remove overlay route ${formatCidr(spec.dst)} via ${formatIp(spec.gateway)} in ${this.#socket.netnsLabel}`);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  close(): void {
    this.#socket.close();
  }
}

/** The routes of the main table carrying the overlay's protocol number, of one family. */
export async function listOverlayRoutes(rtnl: Rtnl, family: 4 | 6): Promise<RouteEntry[]> {
  return (await rtnl.routes.list({ family })).filter((route) => route.protocol === overlayRouteProtocol);
}
