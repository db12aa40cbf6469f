/**
 * The compiler's intermediate form: what the kernel table must contain, independent of how it gets there
 * (full resync or delta). Rendering to libnftables JSON is in render.ts and delta.ts.
 *
 * Layout in `table inet berth-firewall` (see README "Table layout"):
 *   chain forward (hook forward, policy accept):
 *     ct state established,related accept
 *     ip  saddr vmap @egress4      ← dispatch: endpoint address → `jump <group chain>`
 *     ip6 saddr vmap @egress6
 *     ip  daddr vmap @ingress4
 *     ip6 daddr vmap @ingress6
 *   chain <group>:  ip daddr @sel4-<a> ip daddr @sel4-<b> goto <profile> (selectors mode: one rule per
 *                   …                                                    combination of selections; egress,
 *                                                                        saddr for ingress)
 *                   ip daddr @<group>-<profile> goto <profile>           (exact mode: one rule per profile its
 *                   …                                                    peers use)
 *                   ip daddr . meta l4proto . th dport vmap @<group>
 *                   goto <default action chain>                         (when the default is not "allow")
 *   set sel4-<hash>:        the addresses of the endpoints one selector picks, shared by every group using it
 *   set <group>-<profile>:  exact mode: the peers (endpoint addresses) with that profile
 *   map <group>:            disjoint boxes of the address space outside the peers (CIDR regions)
 *                           (peer range . protocol range . port range) → return | goto <action chain>
 *   chain pr-<hash>:  meta l4proto . th dport vmap @pr-<hash>; goto <default action chain>
 *   chain drop/…:    rate-limited log, counter, drop
 *   chain monitor/…: rate-limited log, counter, then `update @monitor-hits4 { tag . ip saddr . ip daddr . meta l4proto
 *                    . th dport }` and its IPv6 twin, each its own rule (returns: the packet goes on)
 *   set monitor-hits4/6: the recent would-be drops, a dynamic set with a timeout, shared by every monitor chain
 *                    (its tag, names.ts monitorTag, says which); created with the table, never by a delta
 * Endpoint peers live in plain hash sets, never in interval maps and never as verdicts: splitting interval (pipapo)
 * elements costs milliseconds per map, and verdict elements make the kernel revalidate every chain reachable
 * from them. A group whose peers are picked by label selectors only (no ipBlock, no egress named port, at most
 * selectorSlotsMax distinct selectors) refers to one shared set per selector, with one rule per combination of
 * selectors a peer can match (most specific first): registering a pod adds its address to the few selector sets
 * that pick it, however many groups use them. Other groups keep their own sets of peer addresses, one per
 * profile. What a peer may reach (its protocol × port verdicts) is a profile chain shared by content.
 */
import type { Family } from '../model/address.js';
import type { Direction } from '../evaluate/context.js';

export const tableName = 'berth-firewall';

/**
 * The would-be drops of monitor chains, per family: an element lives `monitorHitSeconds` after its last packet;
 * a full set takes no new ones until some expire (only the recording rule stops: the counter has its own).
 */
export const monitorHitSeconds = 300;
export const monitorHitsMax = 256;

export function monitorHitSet(family: Family): string {
  return `monitor-hits${family}`;
}

export type DispatchName = 'egress4' | 'egress6' | 'ingress4' | 'ingress6';
export const dispatchNames: readonly DispatchName[] = ['egress4', 'egress6', 'ingress4', 'ingress6'];

export function dispatchName(direction: Direction, family: Family): DispatchName {
  return `${direction}${family}`;
}

/** One interval map element: every (peer, protocol, port) inside the box gets `action`. Bounds are inclusive. */
export interface Box {
  readonly peerLow: bigint;
  readonly peerHigh: bigint;
  readonly protocolLow: number;
  readonly protocolHigh: number;
  readonly portLow: number;
  readonly portHigh: number;
  /** Name of the action chain to jump to; null: allowed in this direction (`return`). */
  readonly action: string | null;
}

/** One element of a profile's map: (protocol range . port range) → action. */
export interface PortBox {
  readonly protocolLow: number;
  readonly protocolHigh: number;
  readonly portLow: number;
  readonly portHigh: number;
  readonly action: string | null;
}

/**
 * What one peer endpoint may do towards (or receive from) the members of a group: protocol × port verdicts,
 * as a default plus disjoint boxes. Named by a hash of its content, so groups share equal profiles.
 */
export interface Profile {
  readonly name: string;
  readonly defaultAction: string | null;
  /** Sorted by (protocolLow, portLow); pairwise disjoint; none carries the default. */
  readonly boxes: readonly PortBox[];
  /** The action chains the default and the boxes refer to, sorted. */
  readonly actions: readonly string[];
}

/** A rule of a group chain: a peer in all these sets gets this profile. */
export interface PeerRule {
  readonly sets: readonly string[];
  readonly profile: string;
}

/** The addresses (of one family) of the endpoints one selector picks. */
export interface SelectionSet {
  readonly name: string;
  readonly family: Family;
  readonly addresses: ReadonlySet<string>;
}

/** A chain + maps shared by every endpoint whose applicable rules are the same. */
export interface Group {
  readonly name: string;
  readonly direction: Direction;
  readonly family: Family;
  /**
   * Hash of everything the default and the boxes depend on (the applicable rules and the monitor flags): equal
   * fingerprints, equal default and boxes. The peers are not covered (they follow the endpoints).
   */
  readonly fingerprint: string;
  /** What a miss in both maps gets: an action chain, or null for "allowed". No box carries this action. */
  readonly defaultAction: string | null;
  /** The address space outside the peers, sorted by (peerLow, protocolLow, portLow); pairwise disjoint. */
  readonly boxes: readonly Box[];
  /** The action chains the default and the boxes refer to, sorted. */
  readonly actions: readonly string[];
  /**
   * Selectors mode: the rules over shared selection sets, most specific first (fixed by the rules, so covered by
   * the fingerprint). Empty in exact mode.
   */
  readonly selectorRules: readonly PeerRule[];
  /** Exact mode: canonical address of every endpoint a peer of the rules selects → its profile's name. */
  readonly peers: ReadonlyMap<string, string>;
  /** Exact mode: the profiles the peers use, sorted (one set and one rule each). */
  readonly peerProfiles: readonly string[];
}

export interface ActionChain {
  /** `drop/in/anp/NAME/3`, `monitor/eg/np/NAMESPACE`, … (the evaluator's action id behind the verb). */
  readonly name: string;
  readonly verb: 'drop' | 'monitor';
  readonly logPrefix: string;
}

export interface CompiledFirewall {
  readonly actions: ReadonlyMap<string, ActionChain>;
  readonly profiles: ReadonlyMap<string, Profile>;
  readonly selections: ReadonlyMap<string, SelectionSet>;
  readonly groups: ReadonlyMap<string, Group>;
  /** Dispatch map → (canonical endpoint address → group name). */
  readonly dispatch: ReadonlyMap<DispatchName, ReadonlyMap<string, string>>;
}

/** The set of a group's peers that have one profile. */
export function peerSetName(group: string, profile: string): string {
  return `${group}-${profile}`;
}

export function boxKey(box: Box): string {
  return `${box.peerLow.toString(16)}-${box.peerHigh.toString(16)}.${box.protocolLow}-${box.protocolHigh}.${box.portLow}-${box.portHigh}`;
}

export function emptyCompiled(): CompiledFirewall {
  return { actions: new Map(), profiles: new Map(), selections: new Map(), groups: new Map(), dispatch: new Map(dispatchNames.map((name) => [name, new Map()])) };
}
