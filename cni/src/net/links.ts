import { AF_UNSPEC, IFF, IFLA, NLM_F, RTM } from './constants.js';
import { attr, cstring, encodeIfInfoMsg, u32 } from './codec.js';
import { NetlinkError, isExists, isNotFound } from './errors.js';
import {
  decodeLink, encodeBasicAttrs, encodeBridgeData, encodeLinkInfo, encodeMacvlanData, encodeVethData, encodeVxlanData,
  type BridgeData, type Link, type MacvlanMode,
} from './link-model.js';
import { ipEquals, formatIp, type IpAddress } from './ip.js';
import { parseMac } from './mac.js';
import { withNetnsFd } from './netns-fd.js';
import { RtnlSocket } from './socket.js';
import { checkIfName, checkInteger, checkMtu, invalid, toIp } from './validate.js';

/** A link by name (string) or ifindex (number). */
export type LinkRef = string | number;

/** Options every created link accepts. `netnsPath` creates it directly in that netns (IFLA_NET_NS_FD). */
export interface CreateLinkOptions {
  name: string;
  mtu?: number;
  mac?: string;
  up?: boolean;
  /** Bridge (or other master) to enslave to at creation, in the netns the link is created in. */
  master?: LinkRef;
  netnsPath?: string;
}

/** The peer end. It cannot be set up at creation (veth_open fails with ENOTCONN before the pair is linked). */
export interface VethPeerOptions { name: string; netnsPath?: string; mtu?: number; mac?: string }
export interface BridgeOptions extends CreateLinkOptions { vlanFiltering?: boolean; vlanDefaultPvid?: number }
export interface MacvlanOptions extends CreateLinkOptions { parent: LinkRef; mode: MacvlanMode }
export interface VxlanOptions extends CreateLinkOptions {
  vni: number;
  local?: string | IpAddress;
  group?: string | IpAddress;
  /** UDP destination port, default 4789 (IANA). */
  port?: number;
  /** MAC learning on the VXLAN device, default off (FDB entries are programmed). */
  learning?: boolean;
  underlay?: LinkRef;
  ttl?: number;
}

/** Changes applied by one RTM_SETLINK. `master: null` releases the link from its master. */
export interface LinkChanges {
  up?: boolean;
  promisc?: boolean;
  mtu?: number;
  mac?: string;
  name?: string;
  master?: LinkRef | null;
}

export const VXLAN_PORT_DEFAULT = 4789;
const VNI_MAX = 0xffffff;

/** Link operations over one rtnetlink socket (so in one netns). */
export class LinkOps {
  readonly #socket: RtnlSocket;

  constructor(socket: RtnlSocket) {
    this.#socket = socket;
  }

  #where(): string {
    return `in ${this.#socket.netnsLabel}`;
  }

  /** The link, or a NetlinkError with code ENODEV. */
  async get(ref: LinkRef): Promise<Link> {
    const byName = typeof ref === 'string';
    const header = encodeIfInfoMsg({ index: byName ? 0 : checkInteger(ref, 1, 0x7fffffff, 'ifindex') });
    const attrs = byName ? [attr(IFLA.IFNAME, cstring(checkIfName(ref)))] : [];
    const [reply] = await this.#socket.request(RTM.GETLINK, 0, [header, ...attrs], `get link ${ref} ${this.#where()}`);
    if (reply === undefined) throw new NetlinkError(19, `get link ${ref} ${this.#where()}: empty reply`);
    return decodeLink(reply);
  }

  /** The link, or undefined when it does not exist. */
  async find(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.get(ref);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(): Promise<Link[]> {
    const replies = await this.#socket.dump(RTM.GETLINK, [encodeIfInfoMsg({ family: AF_UNSPEC })], `list links ${this.#where()}`);
    return replies.map(decodeLink);
  }

  /** The ifindex of `ref` (a number is returned as is, after a range check). */
  async indexOf(ref: LinkRef): Promise<number> {
    return typeof ref === 'number' ? checkInteger(ref, 1, 0x7fffffff, 'ifindex') : (await this.get(ref)).index;
  }

  /** Creates a link of `kind`; NLM_F_EXCL, so an existing name fails with EEXIST. Returns it as read back. */
  async #create(o: CreateLinkOptions, kind: string, data: (netnsFd: number | undefined) => Buffer[], extra: Buffer[] = []): Promise<Link> {
    checkIfName(o.name);
    const masterIndex = o.master === undefined ? undefined : await this.indexOf(o.master);
    const send = async (netnsFd: number | undefined) => {
      const header = encodeIfInfoMsg(o.up === true ? { flags: IFF.UP, change: IFF.UP } : {});
      const attrs = encodeBasicAttrs({
        name: o.name,
        ...(o.mtu === undefined ? {} : { mtu: checkMtu(o.mtu) }),
        ...(o.mac === undefined ? {} : { mac: o.mac }),
        ...(masterIndex === undefined ? {} : { masterIndex }),
        ...(netnsFd === undefined ? {} : { netnsFd }),
      });
      const where = o.netnsPath === undefined ? this.#where() : `in netns ${o.netnsPath}`;
      await this.#socket.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL,
        [header, ...attrs, ...extra, encodeLinkInfo(kind, data(netnsFd))], `create ${kind} ${o.name} ${where}`);
    };
    if (o.netnsPath === undefined) await send(undefined);
    else await withNetnsFd(o.netnsPath, send);
    return this.#readBack(o);
  }

  /**
   * Creates a veth pair: `name` here (or in `netnsPath`), the peer created directly in `peer.netnsPath` so it never
   * appears in this netns. Returns both ends as read back in their namespaces.
   */
  async createVeth(o: CreateLinkOptions & { peer: VethPeerOptions }): Promise<{ link: Link; peer: Link }> {
    const peer = o.peer;
    checkIfName(peer.name, 'veth peer name');
    if (peer.mac !== undefined) parseMac(peer.mac);
    const peerMtu = peer.mtu === undefined ? undefined : checkMtu(peer.mtu);
    const create = (peerFd: number | undefined) => this.#create(o, 'veth', () => encodeVethData({
      name: peer.name,
      ...(peerMtu === undefined ? {} : { mtu: peerMtu }),
      ...(peer.mac === undefined ? {} : { mac: peer.mac }),
      ...(peerFd === undefined ? {} : { netnsFd: peerFd }),
    }));
    const link = peer.netnsPath === undefined ? await create(undefined) : await withNetnsFd(peer.netnsPath, create);
    // Without its own IFLA_NET_NS_FD the kernel puts the peer in the requester's netns: this socket's.
    const peerLink = peer.netnsPath === undefined ? await this.get(peer.name) : await readLinkIn(peer.netnsPath, peer.name);
    return { link, peer: peerLink };
  }

  async createBridge(o: BridgeOptions): Promise<Link> {
    const data: BridgeData = {
      ...(o.vlanFiltering === undefined ? {} : { vlanFiltering: o.vlanFiltering }),
      ...(o.vlanDefaultPvid === undefined ? {} : { vlanDefaultPvid: checkInteger(o.vlanDefaultPvid, 0, 4094, 'default PVID') }),
    };
    return this.#create(o, 'bridge', () => encodeBridgeData(data));
  }

  /** The bridge `o.name`, created if missing. An existing link of another kind is an EEXIST error. */
  async ensureBridge(o: BridgeOptions): Promise<Link> {
    try {
      return await this.createBridge(o);
    } catch (error) {
      if (!isExists(error)) throw error;
      return this.#expectKind(await this.#readBack(o), 'bridge');
    }
  }

  async createMacvlan(o: MacvlanOptions): Promise<Link> {
    const parentIndex = await this.indexOf(o.parent);
    return this.#create(o, 'macvlan', () => encodeMacvlanData(o.mode), [attr(IFLA.LINK, u32(parentIndex))]);
  }

  async createVxlan(o: VxlanOptions): Promise<Link> {
    const local = o.local === undefined ? undefined : toIp(o.local, 'VXLAN local address');
    const group = o.group === undefined ? undefined : toIp(o.group, 'VXLAN group address');
    const underlayIndex = o.underlay === undefined ? undefined : await this.indexOf(o.underlay);
    const data = {
      vni: checkInteger(o.vni, 0, VNI_MAX, 'VNI'),
      port: checkInteger(o.port ?? VXLAN_PORT_DEFAULT, 1, 65535, 'VXLAN port'),
      learning: o.learning ?? false,
      ...(local === undefined ? {} : { local }),
      ...(group === undefined ? {} : { group }),
      ...(underlayIndex === undefined ? {} : { underlayIndex }),
      ...(o.ttl === undefined ? {} : { ttl: checkInteger(o.ttl, 0, 255, 'TTL') }),
    };
    return this.#create(o, 'vxlan', () => encodeVxlanData(data));
  }

  /** The VXLAN device `o.name` with VNI `o.vni` (and local address, if given), created if missing. */
  async ensureVxlan(o: VxlanOptions): Promise<Link> {
    let existing: Link;
    try {
      return await this.createVxlan(o);
    } catch (error) {
      if (!isExists(error)) throw error;
      existing = this.#expectKind(await this.#readBack(o), 'vxlan');
    }
    const local = o.local === undefined ? undefined : toIp(o.local, 'VXLAN local address');
    const sameLocal = local === undefined || (existing.vxlan?.local !== undefined && ipEquals(existing.vxlan.local, local));
    if (existing.vxlan?.vni !== o.vni || !sameLocal) {
      throw new NetlinkError(17, `ensure vxlan ${o.name} ${this.#where()}: it exists with VNI ${existing.vxlan?.vni} ` +
        `local ${existing.vxlan?.local === undefined ? 'none' : formatIp(existing.vxlan.local)}`, { code: 'EEXIST' });
    }
    return existing;
  }

  #readBack(o: CreateLinkOptions): Promise<Link> {
    return o.netnsPath === undefined ? this.get(o.name) : readLinkIn(o.netnsPath, o.name);
  }

  #expectKind(link: Link, kind: string): Link {
    if (link.kind !== kind) {
      throw new NetlinkError(17, `ensure ${kind} ${link.name} ${this.#where()}: a ${link.kind ?? 'non-virtual'} link has that name`, { code: 'EEXIST' });
    }
    return link;
  }

  /** Deletes the link; true if it existed, false if it was already gone. */
  async remove(ref: LinkRef): Promise<boolean> {
    const byName = typeof ref === 'string';
    const header = encodeIfInfoMsg({ index: byName ? 0 : checkInteger(ref, 1, 0x7fffffff, 'ifindex') });
    const attrs = byName ? [attr(IFLA.IFNAME, cstring(checkIfName(ref)))] : [];
    try {
      await this.#socket.request(RTM.DELLINK, 0, [header, ...attrs], `delete link ${ref} ${this.#where()}`);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Applies `changes` in one request. */
  async update(ref: LinkRef, changes: LinkChanges): Promise<void> {
    const index = await this.indexOf(ref);
    let flags = 0;
    let change = 0;
    if (changes.up !== undefined) { change |= IFF.UP; flags |= changes.up ? IFF.UP : 0; }
    if (changes.promisc !== undefined) { change |= IFF.PROMISC; flags |= changes.promisc ? IFF.PROMISC : 0; }
    const masterIndex = changes.master === undefined ? undefined : changes.master === null ? 0 : await this.indexOf(changes.master);
    const attrs = encodeBasicAttrs({
      ...(changes.name === undefined ? {} : { name: checkIfName(changes.name) }),
      ...(changes.mtu === undefined ? {} : { mtu: checkMtu(changes.mtu) }),
      ...(changes.mac === undefined ? {} : { mac: changes.mac }),
      ...(masterIndex === undefined ? {} : { masterIndex }),
    });
    if (change === 0 && attrs.length === 0) throw invalid(`update link ${ref}: no changes given`);
    await this.#socket.request(RTM.SETLINK, 0, [encodeIfInfoMsg({ index, flags, change }), ...attrs],
      `update link ${ref} ${this.#where()} (${Object.keys(changes).join(', ')})`);
  }

  setUp(ref: LinkRef): Promise<void> { return this.update(ref, { up: true }); }
  setDown(ref: LinkRef): Promise<void> { return this.update(ref, { up: false }); }
  setMtu(ref: LinkRef, mtu: number): Promise<void> { return this.update(ref, { mtu }); }
  setMac(ref: LinkRef, mac: string): Promise<void> { return this.update(ref, { mac }); }
  rename(ref: LinkRef, name: string): Promise<void> { return this.update(ref, { name }); }
  setPromisc(ref: LinkRef, promisc: boolean): Promise<void> { return this.update(ref, { promisc }); }
  /** Enslaves the link to `master` (a bridge), or releases it with null. */
  setMaster(ref: LinkRef, master: LinkRef | null): Promise<void> { return this.update(ref, { master }); }

  /** Moves the link into the netns at `netnsPath`, optionally renaming it on the way (as host-device does). */
  async moveToNetns(ref: LinkRef, netnsPath: string, newName?: string): Promise<void> {
    await withNetnsFd(netnsPath, (fd) => this.moveToNetnsFd(ref, fd, newName));
  }

  /** Moves the link into the netns behind the open file descriptor `netnsFd`. */
  async moveToNetnsFd(ref: LinkRef, netnsFd: number, newName?: string): Promise<void> {
    const index = await this.indexOf(ref);
    const attrs = encodeBasicAttrs({ netnsFd, ...(newName === undefined ? {} : { name: checkIfName(newName) }) });
    await this.#socket.request(RTM.SETLINK, 0, [encodeIfInfoMsg({ index }), ...attrs],
      `move link ${ref} ${this.#where()} to netns fd ${netnsFd}${newName === undefined ? '' : ` as ${newName}`}`);
  }
}

/** Reads a link back through a short-lived socket in another netns. */
async function readLinkIn(netnsPath: string, name: string): Promise<Link> {
  const socket = new RtnlSocket(netnsPath);
  try {
    return await new LinkOps(socket).get(name);
  } finally {
    socket.close();
  }
}
