import { AF_INET, AF_INET6, AF_UNSPEC, NDA, NLM_F, NUD, RTM } from './constants.js';
import { attr, decodeNdMsg, encodeNdMsg, parseAttrs } from './codec.js';
import { isNotFound } from './errors.js';
import { formatIp, ipFromBytes, ipToBytes, type IpAddress, type IpFamily } from './ip.js';
import type { LinkOps, LinkRef } from './links.js';
import { formatMac, parseMac } from './mac.js';
import type { RtnlSocket } from './socket.js';
import { toIp } from './validate.js';

export type NeighbourState = 'permanent' | 'noarp' | 'reachable' | 'stale';

const STATE: Record<NeighbourState, number> = {
  permanent: NUD.PERMANENT, noarp: NUD.NOARP, reachable: NUD.REACHABLE, stale: NUD.STALE,
};

export interface NeighbourSpec {
  dev: LinkRef;
  ip: string | IpAddress;
  mac: string;
  /** Default "permanent". */
  state?: NeighbourState;
}

export interface NeighbourEntry {
  index: number;
  ip: IpAddress;
  mac: string | undefined;
  /** NUD_* bits. */
  state: number;
  flags: number;
  permanent: boolean;
}

/** IPv4 ARP / IPv6 ND entries (RTM_NEWNEIGH with AF_INET/AF_INET6). */
export class NeighbourOps {
  readonly #socket: RtnlSocket;
  readonly #links: LinkOps;

  constructor(socket: RtnlSocket, links: LinkOps) {
    this.#socket = socket;
    this.#links = links;
  }

  async #send(type: number, flags: number, dev: LinkRef, ipValue: string | IpAddress, mac: string | undefined, state: number, verb: string): Promise<void> {
    const ip = toIp(ipValue, 'neighbour address');
    const index = await this.#links.indexOf(dev);
    const payload = [
      encodeNdMsg({ family: ip.family === 4 ? AF_INET : AF_INET6, index, state, flags: 0, type: 0 }),
      attr(NDA.DST, ipToBytes(ip)),
    ];
    if (mac !== undefined) payload.push(attr(NDA.LLADDR, parseMac(mac)));
    await this.#socket.request(type, flags, payload,
      `${verb} neighbour ${formatIp(ip)}${mac === undefined ? '' : ` lladdr ${mac}`} on ${dev} in ${this.#socket.netnsLabel}`);
  }

  /** Adds an entry; EEXIST if one exists for that address. */
  add(spec: NeighbourSpec): Promise<void> {
    return this.#send(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.EXCL, spec.dev, spec.ip, spec.mac, STATE[spec.state ?? 'permanent'], 'add');
  }

  /** Adds the entry or replaces the one for that address (`ip neigh replace`). */
  set(spec: NeighbourSpec): Promise<void> {
    return this.#send(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.REPLACE, spec.dev, spec.ip, spec.mac, STATE[spec.state ?? 'permanent'], 'set');
  }

  /** Removes the entry; false if there was none. */
  async remove(dev: LinkRef, ip: string | IpAddress): Promise<boolean> {
    try {
      await this.#send(RTM.DELNEIGH, 0, dev, ip, undefined, 0, 'remove');
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Entries of one link (or all), optionally of one family. */
  async list(dev?: LinkRef, family?: IpFamily): Promise<NeighbourEntry[]> {
    const index = dev === undefined ? undefined : await this.#links.indexOf(dev);
    const af = family === undefined ? AF_UNSPEC : family === 4 ? AF_INET : AF_INET6;
    const replies = await this.#socket.dump(RTM.GETNEIGH, [encodeNdMsg({ family: af, index: 0, state: 0, flags: 0, type: 0 })],
      `list neighbours in ${this.#socket.netnsLabel}`);
    const out: NeighbourEntry[] = [];
    for (const reply of replies) {
      const { header, attrs } = decodeNdMsg(reply);
      if ((header.family !== AF_INET && header.family !== AF_INET6) || (index !== undefined && header.index !== index)) continue;
      const a = parseAttrs(attrs);
      const dst = a.get(NDA.DST);
      if (dst === undefined || (dst.length !== 4 && dst.length !== 16)) continue;
      const mac = a.get(NDA.LLADDR);
      out.push({
        index: header.index, ip: ipFromBytes(dst), mac: mac === undefined ? undefined : formatMac(mac),
        state: header.state, flags: header.flags, permanent: (header.state & NUD.PERMANENT) !== 0,
      });
    }
    return out;
  }
}
