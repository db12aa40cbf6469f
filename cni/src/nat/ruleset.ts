import type { OwnedTableSpec } from './table-spec.js';

/**
 * The shape of Berth's NAT table, `table inet berth-nat`: fixed chains and rules created once per host netns, and
 * named sets and maps whose elements (each tagged with its owner) carry every per-container fact. Adding or removing
 * a container therefore only adds or deletes elements, and a new connection costs a few hash lookups whatever the
 * number of containers and port mappings.
 */

export const natFamily = 'inet';
export const natTableName = 'berth-nat';
/** Bumped when the fixed part changes shape; written into the table's comment. */
export const natRulesetVersion = 1;

/** Named sets and maps of the table, by role. */
export const NatSet = {
  /** Container addresses whose traffic is masqueraded (ipMasq). Key: container address. */
  masqueradeV4: 'masq-v4',
  masqueradeV6: 'masq-v6',
  /** Destinations exempt from masquerade per container: its own subnet. Key: container address . subnet. */
  masqueradeExemptV4: 'masq-exempt-v4',
  masqueradeExemptV6: 'masq-exempt-v6',
  /** Port mappings on every local address. Key: l4proto . host port; value: container address . container port. */
  portsV4: 'ports-v4',
  portsV6: 'ports-v6',
  /** Port mappings bound to one host address. Key: host address . l4proto . host port; value as above. */
  portsHostIpV4: 'ports-hostip-v4',
  portsHostIpV6: 'ports-hostip-v6',
  /** Hairpin: a container reaching its own mapped port. Key: container address . container address. */
  hairpinV4: 'hairpin-v4',
  hairpinV6: 'hairpin-v6',
  /** Containers reachable through their mapped ports from 127.0.0.0/8 on the host. Key: container address. */
  localnetV4: 'localnet-v4',
} as const;
export type NatSetName = (typeof NatSet)[keyof typeof NatSet];

/** The sets the masquerade (bridge ipMasq) side owns, and those the port-mapping side owns. */
export const masqueradeSets: readonly NatSetName[] = [
  NatSet.masqueradeV4, NatSet.masqueradeV6, NatSet.masqueradeExemptV4, NatSet.masqueradeExemptV6,
];
export const portMappingSets: readonly NatSetName[] = [
  NatSet.portsV4, NatSet.portsV6, NatSet.portsHostIpV4, NatSet.portsHostIpV6, NatSet.hairpinV4, NatSet.hairpinV6,
  NatSet.localnetV4,
];
export const allNatSets: readonly NatSetName[] = [...masqueradeSets, ...portMappingSets];

/** The chain port mappings are looked up in; jumped to from prerouting and output for local destinations. */
const portmapChain = 'portmap';

/**
 * Declarations in nft's native syntax. libnftables 1.0.6 cannot express a map whose values are a concatenation in
 * JSON (`"map": ["ipv4_addr", "inet_service"]` silently declares a set), so the fixed part is written natively;
 * elements, which need no such type, go through JSON.
 */
const declarations: readonly string[] = [
  `add set ${natFamily} ${natTableName} ${NatSet.masqueradeV4} { type ipv4_addr; }`,
  `add set ${natFamily} ${natTableName} ${NatSet.masqueradeV6} { type ipv6_addr; }`,
  `add set ${natFamily} ${natTableName} ${NatSet.masqueradeExemptV4} { type ipv4_addr . ipv4_addr; flags interval; }`,
  `add set ${natFamily} ${natTableName} ${NatSet.masqueradeExemptV6} { type ipv6_addr . ipv6_addr; flags interval; }`,
  `add map ${natFamily} ${natTableName} ${NatSet.portsV4} { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
  `add map ${natFamily} ${natTableName} ${NatSet.portsV6} { type inet_proto . inet_service : ipv6_addr . inet_service; }`,
  `add map ${natFamily} ${natTableName} ${NatSet.portsHostIpV4} { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }`,
  `add map ${natFamily} ${natTableName} ${NatSet.portsHostIpV6} { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }`,
  `add set ${natFamily} ${natTableName} ${NatSet.hairpinV4} { type ipv4_addr . ipv4_addr; }`,
  `add set ${natFamily} ${natTableName} ${NatSet.hairpinV6} { type ipv6_addr . ipv6_addr; }`,
  `add set ${natFamily} ${natTableName} ${NatSet.localnetV4} { type ipv4_addr; }`,
  `add chain ${natFamily} ${natTableName} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
  `add chain ${natFamily} ${natTableName} output { type nat hook output priority -100; policy accept; }`,
  `add chain ${natFamily} ${natTableName} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
  `add chain ${natFamily} ${natTableName} ${portmapChain}`,
];

/** Rules, in order per chain. Host-IP-bound mappings are looked up before the ones on every address. */
const rules: readonly string[] = [
  `add rule ${natFamily} ${natTableName} prerouting fib daddr type local jump ${portmapChain}`,
  `add rule ${natFamily} ${natTableName} output fib daddr type local jump ${portmapChain}`,
  `add rule ${natFamily} ${natTableName} ${portmapChain} meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @${NatSet.portsHostIpV4}`,
  `add rule ${natFamily} ${natTableName} ${portmapChain} meta nfproto ipv4 dnat ip to meta l4proto . th dport map @${NatSet.portsV4}`,
  `add rule ${natFamily} ${natTableName} ${portmapChain} meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @${NatSet.portsHostIpV6}`,
  `add rule ${natFamily} ${natTableName} ${portmapChain} meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @${NatSet.portsV6}`,
  // A container reaching its own mapped port: the reply would bypass the host, so the host must be the source.
  `add rule ${natFamily} ${natTableName} postrouting ct status dnat ip saddr . ip daddr @${NatSet.hairpinV4} masquerade`,
  `add rule ${natFamily} ${natTableName} postrouting ct status dnat ip6 saddr . ip6 daddr @${NatSet.hairpinV6} masquerade`,
  // 127.0.0.1:hostPort from the host itself: loopback sources cannot leave the host, so take the bridge's address.
  `add rule ${natFamily} ${natTableName} postrouting ct status dnat ip saddr 127.0.0.0/8 ip daddr @${NatSet.localnetV4} masquerade`,
  `add rule ${natFamily} ${natTableName} postrouting ip saddr . ip daddr @${NatSet.masqueradeExemptV4} return`,
  `add rule ${natFamily} ${natTableName} postrouting ip saddr @${NatSet.masqueradeV4} ip daddr != 224.0.0.0/4 masquerade`,
  `add rule ${natFamily} ${natTableName} postrouting ip6 saddr . ip6 daddr @${NatSet.masqueradeExemptV6} return`,
  `add rule ${natFamily} ${natTableName} postrouting ip6 saddr @${NatSet.masqueradeV6} ip6 daddr != ff00::/8 masquerade`,
];

/** The NAT table as an owned-element table: what `OwnedTable` needs to create, list and change it. */
export const natTableSpec: OwnedTableSpec = {
  family: natFamily,
  name: natTableName,
  sets: allNatSets,
  baseScript: () => natBaseScript(),
};

/**
 * The script that creates the table with its fixed part, as one transaction. It starts with `create table`, so a
 * second creator racing the first fails with EEXIST instead of appending a second copy of every rule.
 */
export function natBaseScript(): string {
  return [
    `create table ${natFamily} ${natTableName} { comment "Berth NAT v${natRulesetVersion}: masquerade and port mappings; elements are tagged NETWORK/CONTAINER/IFNAME"; }`,
    ...declarations,
    ...rules,
  ].join('\n');
}
