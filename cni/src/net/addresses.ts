import { AF_INET, AF_INET6, AF_UNSPEC, IFA, IFA_F, NLM_F, RTM, RT_SCOPE } from './constants.js';
import { attr, cstring, decodeIfAddrMsg, encodeIfAddrMsg, parseAttrs, readCString, readU32, u32 } from './codec.js';
import { isExists, isNotFound } from './errors.js';
import {
  cidrBroadcast, cidrContains, formatCidr, ipFromBytes, ipToBytes, makeCidr, parseCidr, parseIp, type IpCidr, type IpFamily,
} from './ip.js';
import type { LinkOps, LinkRef } from './links.js';
import type { RtnlSocket } from './socket.js';
import { checkIfName, invalid } from './validate.js';

export interface AddressOptions {
  /** Skip duplicate address detection (IFA_F_NODAD). Default true for IPv6 (usable at once), ignored for IPv4. */
  noDad?: boolean;
  /** Do not add the prefix route the kernel adds by default (IFA_F_NOPREFIXROUTE). */
  noPrefixRoute?: boolean;
  /** IPv4 label (defaults to the link name). */
  label?: string;
}

export interface AddressEntry {
  index: number;
  family: IpFamily;
  /** The address with its prefix length, host bits kept (10.0.0.2/24). */
  cidr: IpCidr;
  flags: number;
  scope: number;
  label: string | undefined;
  tentative: boolean;
}

const LOOPBACK_V4 = parseCidr('127.0.0.0/8');
const LINK_LOCAL_V6 = parseCidr('fe80::/10');
const LOOPBACK_V6 = parseIp('::1');

function scopeOf(cidr: IpCidr): number {
  if (cidrContains(LOOPBACK_V4, cidr.address) || (cidr.address.family === 6 && cidr.address.value === LOOPBACK_V6.value)) return RT_SCOPE.host;
  if (cidrContains(LINK_LOCAL_V6, cidr.address)) return RT_SCOPE.link;
  return RT_SCOPE.universe;
}

function toCidr(value: string | IpCidr): IpCidr {
  if (typeof value !== 'string') return makeCidr(value.address, value.prefixLength);
  try {
    return parseCidr(value);
  } catch {
    throw invalid(`use address ${JSON.stringify(value.slice(0, 64))}: not a CIDR like 10.0.0.2/24`);
  }
}

/** Interface addresses (RTM_NEWADDR / RTM_DELADDR / dump). */
export class AddressOps {
  readonly #socket: RtnlSocket;
  readonly #links: LinkOps;

  constructor(socket: RtnlSocket, links: LinkOps) {
    this.#socket = socket;
    this.#links = links;
  }

  #message(index: number, cidr: IpCidr, options: AddressOptions): Buffer[] {
    const v6 = cidr.address.family === 6;
    const flags = (v6 && options.noDad !== false ? IFA_F.NODAD : 0) | (options.noPrefixRoute === true ? IFA_F.NOPREFIXROUTE : 0);
    const bytes = ipToBytes(cidr.address);
    const out = [
      encodeIfAddrMsg({ family: v6 ? AF_INET6 : AF_INET, prefixLength: cidr.prefixLength, flags, scope: scopeOf(cidr), index }),
      attr(IFA.LOCAL, bytes),
      attr(IFA.ADDRESS, bytes),
      attr(IFA.FLAGS, u32(flags)), // flags above 0xff only fit here
    ];
    if (!v6 && cidr.prefixLength < 31) out.push(attr(IFA.BROADCAST, ipToBytes(cidrBroadcast(cidr))));
    if (!v6 && options.label !== undefined) out.push(attr(IFA.LABEL, cstring(checkIfName(options.label, 'address label'))));
    return out;
  }

  /** Adds the address; EEXIST if the link already has it. */
  async add(link: LinkRef, address: string | IpCidr, options: AddressOptions = {}): Promise<void> {
    const cidr = toCidr(address);
    const index = await this.#links.indexOf(link);
    await this.#socket.request(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, this.#message(index, cidr, options),
      `add address ${formatCidr(cidr)} to ${link} in ${this.#socket.netnsLabel}`);
  }

  /** Adds the address unless the link already has it. */
  async ensure(link: LinkRef, address: string | IpCidr, options: AddressOptions = {}): Promise<void> {
    try {
      await this.add(link, address, options);
    } catch (error) {
      if (!isExists(error)) throw error;
    }
  }

  /** Removes the address; false if the link did not have it. */
  async remove(link: LinkRef, address: string | IpCidr): Promise<boolean> {
    const cidr = toCidr(address);
    const index = await this.#links.indexOf(link);
    try {
      await this.#socket.request(RTM.DELADDR, 0, this.#message(index, cidr, {}),
        `remove address ${formatCidr(cidr)} from ${link} in ${this.#socket.netnsLabel}`);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Addresses of one link (or all links), optionally of one family. */
  async list(link?: LinkRef, family?: IpFamily): Promise<AddressEntry[]> {
    const index = link === undefined ? undefined : await this.#links.indexOf(link);
    const af = family === undefined ? AF_UNSPEC : family === 4 ? AF_INET : AF_INET6;
    const replies = await this.#socket.dump(RTM.GETADDR, [encodeIfAddrMsg({ family: af, prefixLength: 0, flags: 0, scope: 0, index: 0 })],
      `list addresses${link === undefined ? '' : ` of ${link}`} in ${this.#socket.netnsLabel}`);
    const out: AddressEntry[] = [];
    for (const reply of replies) {
      const { header, attrs } = decodeIfAddrMsg(reply);
      if (index !== undefined && header.index !== index) continue;
      if (header.family !== AF_INET && header.family !== AF_INET6) continue;
      const a = parseAttrs(attrs);
      const bytes = a.get(IFA.LOCAL) ?? a.get(IFA.ADDRESS);
      if (bytes === undefined) continue;
      const flags = readU32(a.get(IFA.FLAGS)) ?? header.flags;
      out.push({
        index: header.index,
        family: header.family === AF_INET ? 4 : 6,
        cidr: makeCidr(ipFromBytes(bytes), header.prefixLength),
        flags,
        scope: header.scope,
        label: readCString(a.get(IFA.LABEL)),
        tentative: (flags & IFA_F.TENTATIVE) !== 0,
      });
    }
    return out;
  }
}
