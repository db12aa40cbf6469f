/**
 * The compiler's intermediate form: what the kernel table must contain, independent of how it gets there
 * (full resync or diff). Rendering to libnftables JSON is in render.ts; diffing two of these in diff.ts.
 *
 * Layout in `table inet berth-firewall` (see README "Firewall design"):
 *   chain forward (hook forward, policy accept):
 *     ct state established,related accept
 *     ip  saddr vmap @egress4      ← dispatch: endpoint address → `jump <group chain>`
 *     ip6 saddr vmap @egress6
 *     ip  daddr vmap @ingress4
 *     ip6 daddr vmap @ingress6
 *   chain <group>:  ip daddr . meta l4proto . th dport vmap @<group>   (egress; saddr for ingress)
 *                   goto <default action chain>                         (when the default is not "allow")
 *   map <group>:    disjoint boxes (peer range . protocol range . port range) → return | goto <action chain>
 *   chain drop/…:    rate-limited log, counter, drop
 *   chain monitor/…: rate-limited log, counter (returns: the packet goes on)
 * A group stores only the boxes whose verdict differs from its default, the verdict that needs the fewest
 * boxes: for an isolated pod that is the drop, and the map holds what its policies allow (`return`: allowed in
 * this direction, go on); for a pod a few rules deny, it is "allow" and the map holds the drops.
 */
import type { Family } from '../model/address.js';
import type { Direction } from '../evaluate/context.js';

export const tableName = 'berth-firewall';

export type DispatchName = 'egress4' | 'egress6' | 'ingress4' | 'ingress6';
export const dispatchNames: readonly DispatchName[] = ['egress4', 'egress6', 'ingress4', 'ingress6'];

export function dispatchName(direction: Direction, family: Family): DispatchName {
  return `${direction}${family}`;
}

/** One map element: every (peer, protocol, port) inside the box gets `action`. Bounds are inclusive. */
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

/** A chain + map pair shared by every endpoint whose applicable rules are the same. */
export interface Group {
  readonly name: string;
  readonly direction: Direction;
  readonly family: Family;
  /**
   * Hash of everything the content depends on (the applicable rules, the addresses their peers select, the
   * monitor flags): equal fingerprints, equal content, so a recompile reuses the previous group untouched.
   */
  readonly fingerprint: string;
  /** What a miss in the map gets: an action chain, or null for "allowed". No box carries this action. */
  readonly defaultAction: string | null;
  /** Sorted by (peerLow, protocolLow, portLow); pairwise disjoint. */
  readonly boxes: readonly Box[];
  /** The action chains the default and the boxes refer to, sorted. */
  readonly actions: readonly string[];
}

export interface ActionChain {
  /** `drop/in/anp/NAME/3`, `monitor/eg/np/NAMESPACE`, … (the evaluator's action id behind the verb). */
  readonly name: string;
  readonly verb: 'drop' | 'monitor';
  readonly logPrefix: string;
}

export interface CompiledFirewall {
  readonly actions: ReadonlyMap<string, ActionChain>;
  readonly groups: ReadonlyMap<string, Group>;
  /** Dispatch map → (canonical endpoint address → group name). */
  readonly dispatch: ReadonlyMap<DispatchName, ReadonlyMap<string, string>>;
}

export function boxKey(box: Box): string {
  return `${box.peerLow.toString(16)}-${box.peerHigh.toString(16)}.${box.protocolLow}-${box.protocolHigh}.${box.portLow}-${box.portHigh}`;
}

export function emptyCompiled(): CompiledFirewall {
  return { actions: new Map(), groups: new Map(), dispatch: new Map(dispatchNames.map((name) => [name, new Map()])) };
}
