import {
  AF_BRIDGE, BRIDGE_FLAGS, BRIDGE_VLAN_INFO, IFLA, IFLA_BRIDGE, IFLA_BRPORT, RTEXT_FILTER_BRVLAN, RTM,
} from './constants.js';
import { attr, decodeIfInfoMsg, encodeIfInfoMsg, nested, parseAttrList, parseAttrs, readU16, u16, u32, u8 } from './codec.js';
import type { LinkOps, LinkRef } from './links.js';
import type { RtnlSocket } from './socket.js';
import { checkVlan, invalid } from './validate.js';

/** Bridge port flags set through IFLA_PROTINFO (as `bridge link set dev PORT hairpin on ...`). */
export interface BridgePortFlags {
  hairpin?: boolean;
  isolated?: boolean;
  learning?: boolean;
  unicastFlood?: boolean;
  neighSuppress?: boolean;
}

export interface BridgeVlanSpec {
  vid: number;
  /** Untagged frames entering the port get this VLAN. */
  pvid?: boolean;
  /** Frames leave the port untagged. */
  untagged?: boolean;
  /** Configure the bridge device's own VLAN table (`self`), not a port's: pass the bridge as the port. */
  self?: boolean;
}

export interface BridgeVlan { vid: number; pvid: boolean; untagged: boolean }

const PORT_FLAG_ATTRS: Record<keyof BridgePortFlags, number> = {
  hairpin: IFLA_BRPORT.MODE,
  isolated: IFLA_BRPORT.ISOLATED,
  learning: IFLA_BRPORT.LEARNING,
  unicastFlood: IFLA_BRPORT.UNICAST_FLOOD,
  neighSuppress: IFLA_BRPORT.NEIGH_SUPPRESS,
};

/** IFLA_AF_SPEC { [IFLA_BRIDGE_FLAGS SELF], IFLA_BRIDGE_VLAN_INFO { u16 flags, u16 vid } } as `bridge vlan` sends. */
export function encodeVlanAfSpec(spec: BridgeVlanSpec): Buffer {
  const flags = (spec.pvid === true ? BRIDGE_VLAN_INFO.PVID : 0) | (spec.untagged === true ? BRIDGE_VLAN_INFO.UNTAGGED : 0);
  const children = [attr(IFLA_BRIDGE.VLAN_INFO, Buffer.concat([u16(flags), u16(checkVlan(spec.vid))]))];
  if (spec.self === true) children.unshift(attr(IFLA_BRIDGE.FLAGS, u16(BRIDGE_FLAGS.SELF)));
  return nested(IFLA.AF_SPEC, children);
}

/** Bridge port settings and VLAN filtering entries (AF_BRIDGE rtnetlink, as the `bridge` tool). */
export class BridgeOps {
  readonly #socket: RtnlSocket;
  readonly #links: LinkOps;

  constructor(socket: RtnlSocket, links: LinkOps) {
    this.#socket = socket;
    this.#links = links;
  }

  /** Sets port flags on a link enslaved to a bridge. Read them back with `links.get(port).bridgePort`. */
  async setPortFlags(port: LinkRef, flags: BridgePortFlags): Promise<void> {
    const entries = (Object.keys(PORT_FLAG_ATTRS) as (keyof BridgePortFlags)[])
      .filter((name) => flags[name] !== undefined)
      .map((name) => attr(PORT_FLAG_ATTRS[name], u8(flags[name] === true ? 1 : 0)));
    if (entries.length === 0) throw invalid(`set bridge port flags on ${port}: no flags given`);
    const index = await this.#links.indexOf(port);
    // br_setlink only parses IFLA_PROTINFO as port attributes when NLA_F_NESTED is set.
    await this.#socket.request(RTM.SETLINK, 0,
      [encodeIfInfoMsg({ family: AF_BRIDGE, index }), nested(IFLA.PROTINFO, entries, true)],
      `set bridge port flags ${JSON.stringify(flags)} on ${port} in ${this.#socket.netnsLabel}`);
  }

  async addVlan(port: LinkRef, spec: BridgeVlanSpec): Promise<void> {
    await this.#vlan(RTM.SETLINK, 'add', port, spec);
  }

  /** Removes a VLAN from a port (or from the bridge with `self`). */
  async removeVlan(port: LinkRef, spec: BridgeVlanSpec): Promise<void> {
    await this.#vlan(RTM.DELLINK, 'remove', port, spec);
  }

  async #vlan(type: number, verb: string, port: LinkRef, spec: BridgeVlanSpec): Promise<void> {
    const afSpec = encodeVlanAfSpec(spec);
    const index = await this.#links.indexOf(port);
    await this.#socket.request(type, 0, [encodeIfInfoMsg({ family: AF_BRIDGE, index }), afSpec],
      `${verb} VLAN ${spec.vid} on bridge port ${port} in ${this.#socket.netnsLabel}`);
  }

  /** The VLANs configured on a bridge port (or on the bridge itself). */
  async listVlans(port: LinkRef): Promise<BridgeVlan[]> {
    const index = await this.#links.indexOf(port);
    const replies = await this.#socket.dump(RTM.GETLINK,
      [encodeIfInfoMsg({ family: AF_BRIDGE }), attr(IFLA.EXT_MASK, u32(RTEXT_FILTER_BRVLAN))],
      `list bridge VLANs of ${port} in ${this.#socket.netnsLabel}`);
    const vlans: BridgeVlan[] = [];
    for (const reply of replies) {
      const { header, attrs } = decodeIfInfoMsg(reply);
      if (header.index !== index) continue;
      const spec = parseAttrs(attrs).get(IFLA.AF_SPEC);
      for (const entry of parseAttrList(spec ?? Buffer.alloc(0))) {
        if (entry.type !== IFLA_BRIDGE.VLAN_INFO || entry.data.length < 4) continue;
        const flags = readU16(entry.data) ?? 0;
        vlans.push({
          vid: readU16(entry.data.subarray(2)) ?? 0,
          pvid: (flags & BRIDGE_VLAN_INFO.PVID) !== 0,
          untagged: (flags & BRIDGE_VLAN_INFO.UNTAGGED) !== 0,
        });
      }
    }
    return vlans;
  }
}
