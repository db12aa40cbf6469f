export { Rtnl, openRtnl, withRtnl } from './rtnl.js';
export { RtnlSocket, requestTimeoutMs } from './socket.js';
export { NetlinkError, isNotFound, isExists } from './errors.js';
export {
  LinkOps, VXLAN_PORT_DEFAULT,
  type LinkRef, type CreateLinkOptions, type VethPeerOptions, type BridgeOptions, type MacvlanOptions, type VxlanOptions,
  type LinkChanges,
} from './links.js';
export type { Link, BridgeInfo, MacvlanInfo, MacvlanMode, VxlanInfo, BridgePortInfo } from './link-model.js';
export { AddressOps, type AddressOptions, type AddressEntry } from './addresses.js';
export { RouteOps, type RouteSpec, type RouteEntry, type RouteFilter, type RouteScope } from './routes.js';
export { NeighbourOps, type NeighbourSpec, type NeighbourEntry, type NeighbourState } from './neighbours.js';
export { FdbOps, type FdbSpec, type FdbEntry } from './fdb.js';
export { BridgeOps, type BridgePortFlags, type BridgeVlanSpec, type BridgeVlan } from './bridge.js';
export { readSysctl, writeSysctl, sysctlPath } from './sysctl.js';
export { parseMac, formatMac, MacParseError } from './mac.js';
export {
  IpParseError, type IpAddress, type IpCidr, type IpFamily,
  parseIp, tryParseIp, parseCidr, makeCidr, formatIp, formatCidr, ipToBytes, ipFromBytes, familyBits, prefixMask,
  cidrMask, cidrNetwork, cidrBroadcast, cidrCanonical, cidrSize, cidrContains, cidrOverlaps, ipEquals, compareIp, ipAdd,
  nextIp, previousIp,
} from './ip.js';
