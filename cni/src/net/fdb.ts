import { AF_BRIDGE, NDA, NLM_F, NTF, NUD, RTM } from './constants.js';
import { attr, decodeNdMsg, encodeNdMsg, parseAttrs, readU16, readU16be, readU32, u16, u16be, u32 } from './codec.js';
import { isNotFound } from './errors.js';
import { formatIp, ipFromBytes, ipToBytes, type IpAddress } from './ip.js';
import type { LinkOps, LinkRef } from './links.js';
import { formatMac, parseMac } from './mac.js';
import type { RtnlSocket } from './socket.js';
import { checkInteger, checkVlan, toIp } from './validate.js';

export interface FdbSpec {
  dev: LinkRef;
  mac: string;
  /** VXLAN remote (VTEP) address. */
  dst?: string | IpAddress;
  vni?: number;
  /** VXLAN remote UDP port. */
  port?: number;
  vlan?: number;
  /**
   * "self" (default): the device's own table, as for a VXLAN device; "master": the table of the bridge `dev` is a
   * port of.
   */
  target?: 'self' | 'master';
  /**
   * "permanent" (default for self, required by VXLAN) or "static" (default for master: a static entry pointing out of
   * the port; a permanent bridge entry would mean "local to the bridge").
   */
  state?: 'permanent' | 'static';
}

export interface FdbEntry {
  index: number;
  mac: string;
  dst: IpAddress | undefined;
  vni: number | undefined;
  port: number | undefined;
  vlan: number | undefined;
  masterIndex: number | undefined;
  self: boolean;
  master: boolean;
  state: number;
}

/** Forwarding database entries (AF_BRIDGE neighbours), as `bridge fdb`. */
export class FdbOps {
  readonly #socket: RtnlSocket;
  readonly #links: LinkOps;

  constructor(socket: RtnlSocket, links: LinkOps) {
    this.#socket = socket;
    this.#links = links;
  }

  async #send(type: number, flags: number, spec: FdbSpec, verb: string): Promise<void> {
    const target = spec.target ?? 'self';
    const state = (spec.state ?? (target === 'self' ? 'permanent' : 'static')) === 'permanent' ? NUD.PERMANENT : NUD.NOARP;
    const dst = spec.dst === undefined ? undefined : toIp(spec.dst, 'FDB destination');
    const index = await this.#links.indexOf(spec.dev);
    const payload = [
      encodeNdMsg({ family: AF_BRIDGE, index, state, flags: target === 'self' ? NTF.SELF : NTF.MASTER, type: 0 }),
      attr(NDA.LLADDR, parseMac(spec.mac)),
    ];
    if (dst !== undefined) payload.push(attr(NDA.DST, ipToBytes(dst)));
    if (spec.vlan !== undefined) payload.push(attr(NDA.VLAN, u16(checkVlan(spec.vlan))));
    if (spec.port !== undefined) payload.push(attr(NDA.PORT, u16be(checkInteger(spec.port, 1, 65535, 'FDB port'))));
    if (spec.vni !== undefined) payload.push(attr(NDA.VNI, u32(checkInteger(spec.vni, 0, 0xffffff, 'VNI'))));
    await this.#socket.request(type, flags, payload,
      `${verb} FDB entry ${spec.mac}${dst === undefined ? '' : ` dst ${formatIp(dst)}`} on ${spec.dev} (${target}) in ${this.#socket.netnsLabel}`);
  }

  /** Adds an entry; EEXIST if one exists. */
  add(spec: FdbSpec): Promise<void> {
    return this.#send(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.EXCL, spec, 'add');
  }

  /** Adds or replaces the entry for that MAC (and VLAN). */
  set(spec: FdbSpec): Promise<void> {
    return this.#send(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.REPLACE, spec, 'set');
  }

  /** Adds one more destination for a MAC (`bridge fdb append`): how the all-zero MAC floods to several VTEPs. */
  append(spec: FdbSpec): Promise<void> {
    return this.#send(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.APPEND, spec, 'append');
  }

  /**
   * Removes the entry (for VXLAN, only the destination `dst` if given); false when the kernel reports no such entry.
   * VXLAN acknowledges removing a missing destination of a MAC it knows, so that case returns true.
   */
  async remove(spec: FdbSpec): Promise<boolean> {
    try {
      await this.#send(RTM.DELNEIGH, 0, spec, 'remove');
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Entries whose device is `dev` (or all entries). */
  async list(dev?: LinkRef): Promise<FdbEntry[]> {
    const index = dev === undefined ? undefined : await this.#links.indexOf(dev);
    const replies = await this.#socket.dump(RTM.GETNEIGH, [encodeNdMsg({ family: AF_BRIDGE, index: 0, state: 0, flags: 0, type: 0 })],
      `list FDB entries in ${this.#socket.netnsLabel}`);
    const out: FdbEntry[] = [];
    for (const reply of replies) {
      const { header, attrs } = decodeNdMsg(reply);
      if (header.family !== AF_BRIDGE || (index !== undefined && header.index !== index)) continue;
      const a = parseAttrs(attrs);
      const mac = a.get(NDA.LLADDR);
      const dst = a.get(NDA.DST);
      if (mac === undefined) continue;
      out.push({
        index: header.index,
        mac: formatMac(mac),
        dst: dst !== undefined && (dst.length === 4 || dst.length === 16) ? ipFromBytes(dst) : undefined,
        vni: readU32(a.get(NDA.VNI)),
        port: readU16be(a.get(NDA.PORT)),
        vlan: readU16(a.get(NDA.VLAN)),
        masterIndex: readU32(a.get(NDA.MASTER)),
        self: (header.flags & NTF.SELF) !== 0,
        // The bridge reports its entries with NDA_MASTER rather than the NTF_MASTER flag.
        master: (header.flags & NTF.MASTER) !== 0 || a.has(NDA.MASTER),
        state: header.state,
      });
    }
    return out;
  }
}
