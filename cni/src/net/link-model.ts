/** The decoded shape of a link (RTM_NEWLINK) and the IFLA_INFO_DATA codecs for the kinds Berth creates. Pure. */
import {
  IFF, IFLA, IFLA_BR, IFLA_BRPORT, IFLA_INFO, IFLA_MACVLAN_MODE, IFLA_VXLAN, MACVLAN_MODE, VETH_INFO_PEER,
} from './constants.js';
import {
  attr, cstring, decodeIfInfoMsg, encodeIfInfoMsg, nested, parseAttrs, readCString, readS32, readU16, readU16be,
  readU32, readU8, u16, u16be, u32, u8,
} from './codec.js';
import { formatMac, parseMac } from './mac.js';
import { ipFromBytes, ipToBytes, type IpAddress } from './ip.js';

export type MacvlanMode = keyof typeof MACVLAN_MODE;

export interface BridgeInfo { vlanFiltering: boolean | undefined; vlanDefaultPvid: number | undefined; stpState: number | undefined }
export interface MacvlanInfo { mode: MacvlanMode | undefined }
export interface VxlanInfo {
  vni: number | undefined;
  local: IpAddress | undefined;
  group: IpAddress | undefined;
  /** UDP destination port. */
  port: number | undefined;
  learning: boolean | undefined;
  underlayIndex: number | undefined;
  ttl: number | undefined;
}
/** A bridge port's settings, from the port's IFLA_INFO_SLAVE_DATA. */
export interface BridgePortInfo {
  state: number | undefined;
  hairpin: boolean | undefined;
  learning: boolean | undefined;
  unicastFlood: boolean | undefined;
  neighSuppress: boolean | undefined;
  isolated: boolean | undefined;
}

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "veth", "bridge", "macvlan", "vxlan"...; undefined for physical devices and lo. */
  kind: string | undefined;
  /** Kind of the master's port ("bridge" when enslaved to a bridge). */
  slaveKind: string | undefined;
  flags: number;
  up: boolean;
  lowerUp: boolean;
  mtu: number | undefined;
  mac: string | undefined;
  masterIndex: number | undefined;
  /** IFLA_LINK: the veth peer's or macvlan/vxlan parent's index (in `linkNetnsId` when that is set). */
  parentIndex: number | undefined;
  linkNetnsId: number | undefined;
  promiscuity: number | undefined;
  operState: number | undefined;
  bridge: BridgeInfo | undefined;
  macvlan: MacvlanInfo | undefined;
  vxlan: VxlanInfo | undefined;
  bridgePort: BridgePortInfo | undefined;
}

const bool = (value: number | undefined): boolean | undefined => (value === undefined ? undefined : value !== 0);

function decodeBridge(data: Buffer): BridgeInfo {
  const a = parseAttrs(data);
  return {
    vlanFiltering: bool(readU8(a.get(IFLA_BR.VLAN_FILTERING))),
    vlanDefaultPvid: readU16(a.get(IFLA_BR.VLAN_DEFAULT_PVID)),
    stpState: readU32(a.get(IFLA_BR.STP_STATE)),
  };
}

function decodeMacvlan(data: Buffer): MacvlanInfo {
  const raw = readU32(parseAttrs(data).get(IFLA_MACVLAN_MODE));
  const mode = (Object.keys(MACVLAN_MODE) as MacvlanMode[]).find((name) => MACVLAN_MODE[name] === raw);
  return { mode };
}

function optionalIp(data: Buffer | undefined): IpAddress | undefined {
  return data !== undefined && (data.length === 4 || data.length === 16) ? ipFromBytes(data) : undefined;
}

function decodeVxlan(data: Buffer): VxlanInfo {
  const a = parseAttrs(data);
  return {
    vni: readU32(a.get(IFLA_VXLAN.ID)),
    local: optionalIp(a.get(IFLA_VXLAN.LOCAL)) ?? optionalIp(a.get(IFLA_VXLAN.LOCAL6)),
    group: optionalIp(a.get(IFLA_VXLAN.GROUP)) ?? optionalIp(a.get(IFLA_VXLAN.GROUP6)),
    port: readU16be(a.get(IFLA_VXLAN.PORT)),
    learning: bool(readU8(a.get(IFLA_VXLAN.LEARNING))),
    underlayIndex: readU32(a.get(IFLA_VXLAN.LINK)),
    ttl: readU8(a.get(IFLA_VXLAN.TTL)),
  };
}

function decodeBridgePort(data: Buffer): BridgePortInfo {
  const a = parseAttrs(data);
  return {
    state: readU8(a.get(IFLA_BRPORT.STATE)),
    hairpin: bool(readU8(a.get(IFLA_BRPORT.MODE))),
    learning: bool(readU8(a.get(IFLA_BRPORT.LEARNING))),
    unicastFlood: bool(readU8(a.get(IFLA_BRPORT.UNICAST_FLOOD))),
    neighSuppress: bool(readU8(a.get(IFLA_BRPORT.NEIGH_SUPPRESS))),
    isolated: bool(readU8(a.get(IFLA_BRPORT.ISOLATED))),
  };
}

/** Decodes an RTM_NEWLINK payload. */
export function decodeLink(payload: Buffer): Link {
  const { header, attrs } = decodeIfInfoMsg(payload);
  const a = parseAttrs(attrs);
  const info = parseAttrs(a.get(IFLA.LINKINFO) ?? Buffer.alloc(0));
  const kind = readCString(info.get(IFLA_INFO.KIND));
  const slaveKind = readCString(info.get(IFLA_INFO.SLAVE_KIND));
  const data = info.get(IFLA_INFO.DATA);
  const slaveData = info.get(IFLA_INFO.SLAVE_DATA);
  const mac = a.get(IFLA.ADDRESS);
  return {
    index: header.index,
    name: readCString(a.get(IFLA.IFNAME)) ?? '',
    kind,
    slaveKind,
    flags: header.flags,
    up: (header.flags & IFF.UP) !== 0,
    lowerUp: (header.flags & IFF.LOWER_UP) !== 0,
    mtu: readU32(a.get(IFLA.MTU)),
    mac: mac === undefined ? undefined : formatMac(mac),
    masterIndex: readU32(a.get(IFLA.MASTER)),
    parentIndex: readU32(a.get(IFLA.LINK)),
    linkNetnsId: readS32(a.get(IFLA.LINK_NETNSID)),
    promiscuity: readU32(a.get(IFLA.PROMISCUITY)),
    operState: readU8(a.get(IFLA.OPERSTATE)),
    bridge: kind === 'bridge' && data !== undefined ? decodeBridge(data) : undefined,
    macvlan: kind === 'macvlan' && data !== undefined ? decodeMacvlan(data) : undefined,
    vxlan: kind === 'vxlan' && data !== undefined ? decodeVxlan(data) : undefined,
    bridgePort: slaveKind === 'bridge' && slaveData !== undefined ? decodeBridgePort(slaveData) : undefined,
  };
}

/** Attributes common to every link we create or change. */
export interface BasicLinkAttrs { name?: string; mtu?: number; mac?: string; masterIndex?: number; netnsFd?: number }

export function encodeBasicAttrs(a: BasicLinkAttrs): Buffer[] {
  const out: Buffer[] = [];
  if (a.name !== undefined) out.push(attr(IFLA.IFNAME, cstring(a.name)));
  if (a.mtu !== undefined) out.push(attr(IFLA.MTU, u32(a.mtu)));
  if (a.mac !== undefined) out.push(attr(IFLA.ADDRESS, parseMac(a.mac)));
  if (a.masterIndex !== undefined) out.push(attr(IFLA.MASTER, u32(a.masterIndex)));
  if (a.netnsFd !== undefined) out.push(attr(IFLA.NET_NS_FD, u32(a.netnsFd)));
  return out;
}

/** IFLA_LINKINFO { KIND, DATA? }. */
export function encodeLinkInfo(kind: string, data?: readonly Buffer[]): Buffer {
  const children = [attr(IFLA_INFO.KIND, cstring(kind))];
  if (data !== undefined && data.length > 0) children.push(nested(IFLA_INFO.DATA, data));
  return nested(IFLA.LINKINFO, children);
}

/** VETH_INFO_PEER: an ifinfomsg for the peer followed by its attributes (name, netns, mtu, mac). */
export function encodeVethData(peer: BasicLinkAttrs): Buffer[] {
  return [nested(VETH_INFO_PEER, [encodeIfInfoMsg({}), ...encodeBasicAttrs(peer)])];
}

export interface BridgeData { vlanFiltering?: boolean; vlanDefaultPvid?: number }

export function encodeBridgeData(o: BridgeData): Buffer[] {
  const out: Buffer[] = [];
  if (o.vlanFiltering !== undefined) out.push(attr(IFLA_BR.VLAN_FILTERING, u8(o.vlanFiltering ? 1 : 0)));
  if (o.vlanDefaultPvid !== undefined) out.push(attr(IFLA_BR.VLAN_DEFAULT_PVID, u16(o.vlanDefaultPvid)));
  return out;
}

export function encodeMacvlanData(mode: MacvlanMode): Buffer[] {
  return [attr(IFLA_MACVLAN_MODE, u32(MACVLAN_MODE[mode]))];
}

export interface VxlanData {
  vni: number;
  local?: IpAddress;
  group?: IpAddress;
  port: number;
  learning: boolean;
  underlayIndex?: number;
  ttl?: number;
}

export function encodeVxlanData(o: VxlanData): Buffer[] {
  const out = [attr(IFLA_VXLAN.ID, u32(o.vni))];
  if (o.local !== undefined) out.push(attr(o.local.family === 4 ? IFLA_VXLAN.LOCAL : IFLA_VXLAN.LOCAL6, ipToBytes(o.local)));
  if (o.group !== undefined) out.push(attr(o.group.family === 4 ? IFLA_VXLAN.GROUP : IFLA_VXLAN.GROUP6, ipToBytes(o.group)));
  if (o.underlayIndex !== undefined) out.push(attr(IFLA_VXLAN.LINK, u32(o.underlayIndex)));
  if (o.ttl !== undefined) out.push(attr(IFLA_VXLAN.TTL, u8(o.ttl)));
  out.push(attr(IFLA_VXLAN.PORT, u16be(o.port)));
  out.push(attr(IFLA_VXLAN.LEARNING, u8(o.learning ? 1 : 0)));
  return out;
}
