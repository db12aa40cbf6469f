/**
 * The content of one group: for the rules that apply to a subject in one direction, the verdict of every
 * (peer address, protocol, port), in two parts:
 *   - peers: each endpoint a selector of the rules picks (or, for egress, that names a rule's port) gets the
 *     profile of protocol × port verdicts that its matches give (profile.ts);
 *   - the rest of the address space: cut at every CIDR boundary of the rules; inside a cell only ipBlock and
 *     networks peers can match, alike for every address; adjacent cells with equal verdicts are merged into
 *     regions, stored as a default verdict plus the fewest disjoint boxes that differ from it.
 * Each verdict comes from the evaluator's own decision function (decideWithMatcher): the compiler cannot
 * disagree with `explain` on semantics; what it adds is cutting, merging and encoding, which the property
 * test checks.
 */
import { rangeContains, type Address, type AddressRange, type Family } from '../model/address.js';
import type { AdminPeer, Endpoint, NetworkPolicy, NetworkPolicyPeer, PortMatch } from '../model/types.js';
import type { ApplicableRules, EvaluationContext } from '../evaluate/context.js';
import { decideWithMatcher, type DirectionDecision, type PeerMatcher } from '../evaluate/direction.js';
import { podSetSelects, selectorPeerSelects, type NamespaceLabels } from '../evaluate/match.js';
import { assert } from '../errors.js';
import { addressCells, portCells, portlessProtocol, protocolCells } from './partition.js';
import type { Box } from './ir.js';

/** Every port entry of every applicable rule. */
export function applicablePorts(rules: ApplicableRules): PortMatch[] {
  const ports: PortMatch[] = [];
  for (const { rule } of [...rules.admin, ...rules.baseline]) ports.push(...(rule.ports ?? []));
  for (const policy of rules.networkPolicies) for (const rule of policy[rules.direction]) ports.push(...(rule.ports ?? []));
  return ports;
}

/** The names of the named ports the rules use, for egress (they resolve on the peer); empty for ingress. */
export function egressPortNames(rules: ApplicableRules): string[] {
  if (rules.direction !== 'egress') return [];
  return [...new Set(applicablePorts(rules).filter((port) => port.kind === 'named').map((port) => port.name))].sort();
}

export type Slot =
  | { readonly kind: 'admin'; readonly peer: AdminPeer }
  | { readonly kind: 'networkPolicy'; readonly peer: NetworkPolicyPeer; readonly policy: NetworkPolicy };

/** A peer that selects endpoints by labels (as opposed to ipBlock / networks). */
export type SelectorSlot =
  | { readonly kind: 'admin'; readonly peer: Exclude<AdminPeer, { kind: 'networks' }> }
  | { readonly kind: 'networkPolicy'; readonly peer: Extract<NetworkPolicyPeer, { kind: 'selector' }>; readonly policy: NetworkPolicy };

export function isSelectorSlot(slot: Slot): slot is SelectorSlot {
  return slot.peer.kind !== 'networks' && slot.peer.kind !== 'ipBlock';
}

/** What a selector slot's selection depends on: equal keys select the same endpoints. */
export function selectionKey(slot: SelectorSlot): string {
  // A podSelector-only NetworkPolicy peer means the policy's own namespace, so the namespace is part of the key.
  return slot.kind === 'admin'
    ? JSON.stringify(['admin', slot.peer])
    : JSON.stringify(['np', slot.peer.namespaceSelector === null ? slot.policy.namespace : null, slot.peer]);
}

export function slotSelects(slot: SelectorSlot, endpoint: Endpoint, namespaceLabels: NamespaceLabels): boolean {
  return slot.kind === 'admin'
    ? podSetSelects(slot.peer, endpoint, namespaceLabels)
    : selectorPeerSelects(slot.peer, endpoint, slot.policy, namespaceLabels);
}

/** The distinct peers of the applicable rules, each with its position in a signature. */
export function peerSlots(rules: ApplicableRules): { slots: Slot[]; index: Map<object, number> } {
  const slots: Slot[] = [];
  const index = new Map<object, number>();
  const add = (slot: Slot): void => {
    if (index.has(slot.peer)) return;
    index.set(slot.peer, slots.length);
    slots.push(slot);
  };
  for (const { rule } of [...rules.admin, ...rules.baseline]) for (const peer of rule.peers) add({ kind: 'admin', peer });
  for (const policy of rules.networkPolicies) {
    for (const rule of policy[rules.direction]) for (const peer of rule.peers ?? []) add({ kind: 'networkPolicy', peer, policy });
  }
  return { slots, index };
}

/** Whether an address-based slot (ipBlock, networks) contains the address; selector slots answer false. */
export function slotContains(slot: Slot, address: Address): boolean {
  const peer = slot.peer;
  if (peer.kind === 'networks') return peer.networks.some((cidr) => rangeContains(cidr, address));
  if (peer.kind === 'ipBlock') return rangeContains(peer.cidr, address) && !peer.except.some((cidr) => rangeContains(cidr, address));
  return false;
}

/** `drop/<action>` or `monitor/<action>`; null for allow. */
export function actionOf(decision: DirectionDecision): string | null {
  if (decision.verdict === 'allow') return null;
  assert(decision.action !== null, 'a deny decision names its action');
  return `${decision.verdict === 'monitor' ? 'monitor' : 'drop'}/${decision.action}`;
}

export interface Run {
  readonly low: number;
  readonly high: number;
  readonly action: string | null;
}

function pushRun(runs: Run[], low: number, high: number, action: string | null): void {
  const last = runs[runs.length - 1];
  if (last !== undefined && last.action === action && last.high + 1 === low) runs[runs.length - 1] = { low: last.low, high, action };
  else runs.push({ low, high, action });
}

export interface ProtocolRun {
  readonly low: number;
  readonly high: number;
  readonly ports: readonly Run[];
  readonly signature: string;
}

/** The protocol × port verdicts for one peer match (action ids as the evaluator names them). */
export function profileRuns(context: EvaluationContext, rules: ApplicableRules, matcher: PeerMatcher, ports: readonly PortMatch[]): ProtocolRun[] {
  const destination = rules.direction === 'ingress' ? rules.subject : matcher.endpoint;
  const profile: ProtocolRun[] = [];
  for (const cell of protocolCells) {
    const runs: Run[] = [];
    if (!cell.ports) {
      pushRun(runs, 0, 65535, actionOf(decideWithMatcher(context, rules, matcher, portlessProtocol, null, false)));
    } else {
      for (const portCell of portCells(cell.low, ports, destination)) {
        pushRun(runs, portCell.low, portCell.high, actionOf(decideWithMatcher(context, rules, matcher, cell.low, portCell.low, false)));
      }
    }
    const signature = runs.map((run) => `${run.low}-${run.high}:${run.action ?? ''}`).join(',');
    const last = profile[profile.length - 1];
    if (last !== undefined && last.signature === signature) profile[profile.length - 1] = { ...last, high: cell.high };
    else profile.push({ low: cell.low, high: cell.high, ports: runs, signature });
  }
  return profile;
}

/** A matcher from a signature: which slots match, and the endpoint at the other side (or null). */
export function signatureMatcher(index: ReadonlyMap<object, number>, bits: readonly boolean[], endpoint: Endpoint | null): PeerMatcher {
  const slotOf = (peer: object): boolean => {
    const position = index.get(peer);
    assert(position !== undefined, 'every peer of the applicable rules has a slot');
    return bits[position] === true;
  };
  return { admin: slotOf, networkPolicy: slotOf, endpoint };
}

interface Region {
  readonly low: bigint;
  high: bigint;
  readonly profile: readonly ProtocolRun[];
  readonly signature: string;
}

/** The protocol × port verdicts of a peer signature (which slots match) for an address outside the peers. */
export type RunsOf = (bits: readonly boolean[]) => ProtocolRun[];

/** Regions of the address space outside the peers (adjacent cells with the same verdicts merged). */
function regionsOf(slots: readonly Slot[], family: Family, runsOf: RunsOf): Region[] {
  const ranges: AddressRange[] = [];
  for (const slot of slots) {
    if (slot.peer.kind === 'networks') ranges.push(...slot.peer.networks);
    else if (slot.peer.kind === 'ipBlock') ranges.push(slot.peer.cidr, ...slot.peer.except);
  }
  const regions: Region[] = [];
  for (const cell of addressCells(family, [], ranges)) {
    const profile = runsOf(slots.map((slot) => slotContains(slot, { family, value: cell.low })));
    const signature = profile.map((run) => `${run.low}-${run.high}[${run.signature}]`).join(';');
    const last = regions[regions.length - 1];
    if (last !== undefined && last.signature === signature && last.high + 1n === cell.low) last.high = cell.high;
    else regions.push({ low: cell.low, high: cell.high, profile, signature });
  }
  return regions;
}

/** The action that leaves the fewest boxes when it is the default; ties prefer "allow", then the smaller name. */
export function chooseDefault(runs: Iterable<Run>): string | null {
  const counts = new Map<string | null, number>();
  let total = 0;
  for (const run of runs) {
    counts.set(run.action, (counts.get(run.action) ?? 0) + 1);
    total += 1;
  }
  let best: string | null = null;
  let bestBoxes = total - (counts.get(null) ?? 0);
  for (const [action, count] of counts) {
    if (action === null) continue;
    const boxes = total - count;
    if (boxes < bestBoxes || (boxes === bestBoxes && best !== null && action < best)) {
      best = action;
      bestBoxes = boxes;
    }
  }
  return best;
}

function* allRuns(regions: readonly Region[]): Generator<Run> {
  for (const region of regions) for (const protocols of region.profile) yield* protocols.ports;
}

/** The address space outside the peers, as a default action id plus boxes (action ids, not chain names). */
export function outsideContent(slots: readonly Slot[], family: Family, runsOf: RunsOf): { defaultAction: string | null; boxes: Box[] } {
  const regions = regionsOf(slots, family, runsOf);
  const defaultAction = chooseDefault(allRuns(regions));
  const boxes: Box[] = [];
  for (const region of regions) {
    for (const protocols of region.profile) {
      for (const run of protocols.ports) {
        if (run.action === defaultAction) continue;
        boxes.push({
          peerLow: region.low, peerHigh: region.high, protocolLow: protocols.low, protocolHigh: protocols.high,
          portLow: run.low, portHigh: run.high, action: run.action,
        });
      }
    }
  }
  return { defaultAction, boxes };
}
