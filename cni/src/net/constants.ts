/** Kernel ABI numbers used by the netlink layer (linux/rtnetlink.h, if_link.h, if_bridge.h, neighbour.h, if_addr.h). */

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
  NEWNEIGH: 28, DELNEIGH: 29, GETNEIGH: 30,
} as const;

export const NLM_F = {
  REQUEST: 0x1, MULTI: 0x2, ACK: 0x4, DUMP: 0x300, REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800,
} as const;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLA_F_NESTED = 0x8000;
export const NLA_TYPE_MASK = 0x3fff;

export const IFF = { UP: 0x1, LOOPBACK: 0x8, RUNNING: 0x40, PROMISC: 0x100, LOWER_UP: 0x10000 } as const;

export const IFLA = {
  ADDRESS: 1, BROADCAST: 2, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, PROTINFO: 12, TXQLEN: 13, OPERSTATE: 16,
  LINKINFO: 18, AF_SPEC: 26, NET_NS_FD: 28, EXT_MASK: 29, PROMISCUITY: 30, CARRIER: 33, LINK_NETNSID: 37,
} as const;

export const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4, SLAVE_DATA: 5 } as const;
export const VETH_INFO_PEER = 1;

export const IFLA_BR = { STP_STATE: 5, VLAN_FILTERING: 7, VLAN_DEFAULT_PVID: 39 } as const;

export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;

export const IFLA_VXLAN = {
  ID: 1, GROUP: 2, LINK: 3, LOCAL: 4, TTL: 5, LEARNING: 7, PORT: 15, GROUP6: 16, LOCAL6: 17, UDP_CSUM: 18,
} as const;

export const IFLA_BRPORT = { STATE: 1, MODE: 4, LEARNING: 8, UNICAST_FLOOD: 9, NEIGH_SUPPRESS: 32, ISOLATED: 33 } as const;

export const IFLA_BRIDGE = { FLAGS: 0, MODE: 1, VLAN_INFO: 2 } as const;
export const BRIDGE_FLAGS = { MASTER: 1, SELF: 2 } as const;
export const BRIDGE_VLAN_INFO = { MASTER: 1, PVID: 2, UNTAGGED: 4, BRENTRY: 32 } as const;
export const RTEXT_FILTER_BRVLAN = 2;

export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, FLAGS: 8 } as const;
export const IFA_F = { NODAD: 0x02, DADFAILED: 0x08, TENTATIVE: 0x40, PERMANENT: 0x80, NOPREFIXROUTE: 0x200 } as const;

export const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RTN_UNICAST = 1;
export const RTM_F_CLONED = 0x200;
export const RT_SCOPE = { universe: 0, link: 253, host: 254 } as const;

export const NDA = { DST: 1, LLADDR: 2, VLAN: 5, PORT: 6, VNI: 7, MASTER: 9 } as const;
export const NUD = { REACHABLE: 0x02, STALE: 0x04, NOARP: 0x40, PERMANENT: 0x80 } as const;
export const NTF = { SELF: 0x02, MASTER: 0x04, EXT_LEARNED: 0x10 } as const;
