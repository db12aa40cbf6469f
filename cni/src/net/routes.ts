import { AF_INET, AF_INET6, NLM_F, RTA, RTM, RTM_F_CLONED, RTN_UNICAST, RTPROT_BOOT, RT_SCOPE, RT_TABLE_MAIN } from './constants.js';
import { attr, decodeRtMsg, encodeRtMsg, parseAttrs, readU32, u32 } from './codec.js';
import { isNotFound } from './errors.js';
import {
  cidrCanonical, formatCidr, formatIp, ipFromBytes, ipToBytes, makeCidr, parseCidr, type IpAddress, type IpCidr, type IpFamily,
} from './ip.js';
import type { LinkOps, LinkRef } from './links.js';
import type { RtnlSocket } from './socket.js';
import { checkInteger, invalid, toIp } from './validate.js';

export type RouteScope = keyof typeof RT_SCOPE;

export interface RouteSpec {
  /** Destination prefix; omitted or "default" for the default route (then the family comes from `gateway` or `family`). */
  dst?: string | IpCidr;
  gateway?: string | IpAddress;
  dev?: LinkRef;
  /** Default: "link" without a gateway, "universe" with one (as iproute2). */
  scope?: RouteScope;
  table?: number;
  metric?: number;
  /** Preferred source address (RTA_PREFSRC). */
  src?: string | IpAddress;
  family?: IpFamily;
}

export interface RouteEntry {
  family: IpFamily;
  /** 0.0.0.0/0 or ::/0 for a default route. */
  dst: IpCidr;
  gateway: IpAddress | undefined;
  oifIndex: number | undefined;
  scope: number;
  table: number;
  metric: number | undefined;
  protocol: number;
  type: number;
  prefSrc: IpAddress | undefined;
}

export interface RouteFilter { family?: IpFamily; table?: number; dev?: LinkRef }

const RT_SCOPE_NOWHERE = 255; // in a delete: match any scope
const TABLE_MAX = 0xffffffff;

interface ResolvedRoute { family: IpFamily; dst: IpCidr; gateway?: IpAddress; src?: IpAddress; label: string }

function resolve(spec: RouteSpec): ResolvedRoute {
  const gateway = spec.gateway === undefined ? undefined : toIp(spec.gateway, 'gateway');
  const src = spec.src === undefined ? undefined : toIp(spec.src, 'preferred source');
  let dst: IpCidr | undefined;
  if (typeof spec.dst === 'string' && spec.dst !== 'default') {
    try {
      dst = parseCidr(spec.dst);
    } catch {
      throw invalid(`use route destination ${JSON.stringify(spec.dst.slice(0, 64))}: not a CIDR`);
    }
  } else if (typeof spec.dst === 'object') {
    dst = makeCidr(spec.dst.address, spec.dst.prefixLength);
  }
  const family = dst?.address.family ?? gateway?.family ?? spec.family;
  if (family === undefined) throw invalid('add a default route without gateway or family: the IP family is unknown');
  for (const [what, address] of [['gateway', gateway], ['source', src]] as const) {
    if (address !== undefined && address.family !== family) throw invalid(`use ${what} ${formatIp(address)} in an IPv${family} route`);
  }
  if (spec.family !== undefined && spec.family !== family) throw invalid(`use an IPv${family} destination in an IPv${spec.family} route`);
  const canonical = cidrCanonical(dst ?? makeCidr({ family, value: 0n }, 0));
  const label = `${dst === undefined ? 'default' : formatCidr(canonical)}${gateway === undefined ? '' : ` via ${formatIp(gateway)}`}`;
  return { family, dst: canonical, ...(gateway === undefined ? {} : { gateway }), ...(src === undefined ? {} : { src }), label };
}

/** Routes (RTM_NEWROUTE / RTM_DELROUTE / dump), IPv4 and IPv6. */
export class RouteOps {
  readonly #socket: RtnlSocket;
  readonly #links: LinkOps;

  constructor(socket: RtnlSocket, links: LinkOps) {
    this.#socket = socket;
    this.#links = links;
  }

  async #message(spec: RouteSpec, route: ResolvedRoute, remove: boolean): Promise<Buffer[]> {
    const table = checkInteger(spec.table ?? RT_TABLE_MAIN, 1, TABLE_MAX, 'route table');
    const defaultScope = route.gateway === undefined ? RT_SCOPE.link : RT_SCOPE.universe;
    const scope = spec.scope !== undefined ? RT_SCOPE[spec.scope] : remove ? RT_SCOPE_NOWHERE : defaultScope;
    const header = encodeRtMsg({
      family: route.family === 4 ? AF_INET : AF_INET6, dstLength: route.dst.prefixLength, srcLength: 0, tos: 0,
      table: table < 256 ? table : 0, protocol: remove ? 0 : RTPROT_BOOT, scope, type: remove ? 0 : RTN_UNICAST, flags: 0,
    });
    const out = [header, attr(RTA.TABLE, u32(table))];
    if (route.dst.prefixLength > 0) out.push(attr(RTA.DST, ipToBytes(route.dst.address)));
    if (route.gateway !== undefined) out.push(attr(RTA.GATEWAY, ipToBytes(route.gateway)));
    if (route.src !== undefined) out.push(attr(RTA.PREFSRC, ipToBytes(route.src)));
    if (spec.dev !== undefined) out.push(attr(RTA.OIF, u32(await this.#links.indexOf(spec.dev))));
    if (spec.metric !== undefined) out.push(attr(RTA.PRIORITY, u32(checkInteger(spec.metric, 0, 0xffffffff, 'metric'))));
    return out;
  }

  /** Adds the route; EEXIST if a route with the same destination, table and metric exists. */
  async add(spec: RouteSpec): Promise<void> {
    const route = resolve(spec);
    await this.#socket.request(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL, await this.#message(spec, route, false),
      `add route ${route.label} in ${this.#socket.netnsLabel}`);
  }

  /** Adds the route, or replaces the one with the same destination, table and metric. */
  async ensure(spec: RouteSpec): Promise<void> {
    const route = resolve(spec);
    await this.#socket.request(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.REPLACE, await this.#message(spec, route, false),
      `ensure route ${route.label} in ${this.#socket.netnsLabel}`);
  }

  /** Removes the route; false if there was no such route. */
  async remove(spec: RouteSpec): Promise<boolean> {
    const route = resolve(spec);
    try {
      await this.#socket.request(RTM.DELROUTE, 0, await this.#message(spec, route, true),
        `remove route ${route.label} in ${this.#socket.netnsLabel}`);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Routes of one table (main by default), without cache clones; optionally one family and one output device. */
  async list(filter: RouteFilter = {}): Promise<RouteEntry[]> {
    const table = filter.table ?? RT_TABLE_MAIN;
    const oif = filter.dev === undefined ? undefined : await this.#links.indexOf(filter.dev);
    const families = filter.family === undefined ? [4, 6] as const : [filter.family];
    const out: RouteEntry[] = [];
    for (const family of families) {
      const header = encodeRtMsg({ family: family === 4 ? AF_INET : AF_INET6, dstLength: 0, srcLength: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 });
      const replies = await this.#socket.dump(RTM.GETROUTE, [header], `list IPv${family} routes in ${this.#socket.netnsLabel}`);
      for (const reply of replies) {
        const entry = decodeRoute(reply, family);
        if (entry === undefined || entry.table !== table || (oif !== undefined && entry.oifIndex !== oif)) continue;
        out.push(entry);
      }
    }
    return out;
  }
}

function decodeRoute(reply: Buffer, family: IpFamily): RouteEntry | undefined {
  const { header, attrs } = decodeRtMsg(reply);
  if ((header.flags & RTM_F_CLONED) !== 0) return undefined;
  const a = parseAttrs(attrs);
  const ip = (type: number) => {
    const bytes = a.get(type);
    return bytes === undefined || (bytes.length !== 4 && bytes.length !== 16) ? undefined : ipFromBytes(bytes);
  };
  return {
    family,
    dst: makeCidr(ip(RTA.DST) ?? { family, value: 0n }, header.dstLength),
    gateway: ip(RTA.GATEWAY),
    oifIndex: readU32(a.get(RTA.OIF)),
    scope: header.scope,
    table: readU32(a.get(RTA.TABLE)) ?? header.table,
    metric: readU32(a.get(RTA.PRIORITY)),
    protocol: header.protocol,
    type: header.type,
    prefSrc: ip(RTA.PREFSRC),
  };
}
