/**
 * The content of one group: for the rules that apply to a subject in one direction, the verdict of every
 * (peer address, protocol, port), as a default verdict plus the fewest disjoint boxes that differ from it.
 *
 * Peer addresses are cut at every address a selector of those rules picks (each such endpoint address is a
 * cell of its own) and at every CIDR boundary; inside a cell every peer of the rules matches alike. A cell's
 * signature says which peers match it (plus, for egress, the container ports it names); cells with the same
 * signature get the same verdicts, so each signature is decided once, port cell by port cell, by the
 * evaluator's own decision function (decideWithMatcher): the compiler cannot disagree with `explain` on
 * semantics; what it adds is cutting, merging and encoding, which the property test checks.
 */
import { parseAddress, rangeContains, type Address, type AddressRange, type Family } from '../model/address.js';
import type { AdminPeer, Endpoint, NetworkPolicy, NetworkPolicyPeer, PortMatch } from '../model/types.js';
import { addressKey, type ApplicableRules, type EvaluationContext } from '../evaluate/context.js';
import { decideWithMatcher, type DirectionDecision, type PeerMatcher } from '../evaluate/direction.js';
import { podSetSelects, selectorPeerSelects } from '../evaluate/match.js';
import { assert } from '../errors.js';
import { addressCells, portCells, portlessProtocol, protocolCells, type AddressCell } from './partition.js';
import type { Box } from './ir.js';

/**
 * Memoizes, for one compile, which endpoints a peer selects (keyed by the peer's content, so the same selector
 * in a thousand policies is evaluated once) and each endpoint's parsed addresses.
 */
export class SelectionCache {
  readonly #byPeer = new WeakMap<object, ReadonlySet<Endpoint>>();
  readonly #byContent = new Map<string, ReadonlySet<Endpoint>>();
  readonly #byPortName = new Map<string, readonly Endpoint[]>();
  readonly #addresses = new WeakMap<Endpoint, readonly Address[]>();
  readonly #addressTexts = new WeakMap<object, Map<Family, string>>();
  readonly #context: EvaluationContext;

  constructor(context: EvaluationContext) {
    this.#context = context;
  }

  #select(peer: object, contentKey: () => string, predicate: (endpoint: Endpoint) => boolean): ReadonlySet<Endpoint> {
    let selected = this.#byPeer.get(peer);
    if (selected !== undefined) return selected;
    const key = contentKey();
    selected = this.#byContent.get(key);
    if (selected === undefined) {
      selected = new Set(this.#context.endpoints.filter(predicate));
      this.#byContent.set(key, selected);
    }
    this.#byPeer.set(peer, selected);
    return selected;
  }

  admin(peer: Exclude<AdminPeer, { kind: 'networks' }>): ReadonlySet<Endpoint> {
    return this.#select(peer, () => JSON.stringify(['admin', peer]),
      (endpoint) => podSetSelects(peer, endpoint, this.#context.namespaceLabels));
  }

  networkPolicy(peer: Extract<NetworkPolicyPeer, { kind: 'selector' }>, policy: NetworkPolicy): ReadonlySet<Endpoint> {
    // A podSelector-only peer means the policy's own namespace, so the namespace is part of the content.
    return this.#select(peer, () => JSON.stringify(['np', peer.namespaceSelector === null ? policy.namespace : null, peer]),
      (endpoint) => selectorPeerSelects(peer, endpoint, policy, this.#context.namespaceLabels));
  }

  namingPort(name: string): readonly Endpoint[] {
    let selected = this.#byPortName.get(name);
    if (selected === undefined) {
      selected = this.#context.endpoints.filter((endpoint) => endpoint.namedPorts.some((port) => port.name === name));
      this.#byPortName.set(name, selected);
    }
    return selected;
  }

  /** The sorted addresses (of one family) of a selected set, as one string: what fingerprints hash. */
  addressText(endpoints: Iterable<Endpoint>, key: object, family: Family): string {
    let byFamily = this.#addressTexts.get(key);
    if (byFamily === undefined) {
      byFamily = new Map();
      this.#addressTexts.set(key, byFamily);
    }
    let text = byFamily.get(family);
    if (text === undefined) {
      const values: bigint[] = [];
      for (const endpoint of endpoints) for (const address of this.addresses(endpoint)) if (address.family === family) values.push(address.value);
      text = values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((value) => value.toString(16)).join(',');
      byFamily.set(family, text);
    }
    return text;
  }

  addresses(endpoint: Endpoint): readonly Address[] {
    let addresses = this.#addresses.get(endpoint);
    if (addresses === undefined) {
      addresses = endpoint.ips.map((ip) => parseAddress(ip)).filter((address): address is Address => address !== null);
      this.#addresses.set(endpoint, addresses);
    }
    return addresses;
  }
}

/** Every port entry of every applicable rule. */
export function applicablePorts(rules: ApplicableRules): PortMatch[] {
  const ports: PortMatch[] = [];
  for (const { rule } of [...rules.admin, ...rules.baseline]) ports.push(...(rule.ports ?? []));
  for (const policy of rules.networkPolicies) for (const rule of policy[rules.direction]) ports.push(...(rule.ports ?? []));
  return ports;
}

type Slot =
  | { readonly kind: 'admin'; readonly peer: AdminPeer }
  | { readonly kind: 'networkPolicy'; readonly peer: NetworkPolicyPeer; readonly policy: NetworkPolicy };

/** The distinct peers of the applicable rules, each with its position in a signature. */
function peerSlots(rules: ApplicableRules): { slots: Slot[]; index: Map<object, number> } {
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

function addEndpoints(points: Set<bigint>, endpoints: Iterable<Endpoint>, family: Family, cache: SelectionCache): void {
  for (const endpoint of endpoints) {
    for (const address of cache.addresses(endpoint)) if (address.family === family) points.add(address.value);
  }
}

/** Cut points: endpoint addresses the peers select (and, for egress, endpoints naming a rule's port), CIDR bounds. */
function peerCuts(rules: ApplicableRules, slots: readonly Slot[], family: Family, cache: SelectionCache): { points: Set<bigint>; ranges: AddressRange[] } {
  const points = new Set<bigint>();
  const ranges: AddressRange[] = [];
  for (const slot of slots) {
    const peer = slot.peer;
    if (peer.kind === 'networks') ranges.push(...peer.networks);
    else if (peer.kind === 'ipBlock') ranges.push(peer.cidr, ...peer.except);
    else if (slot.kind === 'admin') addEndpoints(points, cache.admin(peer as Exclude<AdminPeer, { kind: 'networks' }>), family, cache);
    else addEndpoints(points, cache.networkPolicy(peer as Extract<NetworkPolicyPeer, { kind: 'selector' }>, slot.policy), family, cache);
  }
  if (rules.direction === 'egress') {
    for (const port of applicablePorts(rules)) if (port.kind === 'named') addEndpoints(points, cache.namingPort(port.name), family, cache);
  }
  return { points, ranges };
}

function slotMatches(slot: Slot, cell: AddressCell, family: Family, endpoint: Endpoint | null, cache: SelectionCache): boolean {
  const peer = slot.peer;
  const address = { family, value: cell.low };
  switch (peer.kind) {
    case 'networks':
      return peer.networks.some((cidr) => rangeContains(cidr, address));
    case 'ipBlock':
      return rangeContains(peer.cidr, address) && !peer.except.some((cidr) => rangeContains(cidr, address));
    case 'selector':
      return endpoint !== null && slot.kind === 'networkPolicy' && cache.networkPolicy(peer, slot.policy).has(endpoint);
    default:
      return endpoint !== null && cache.admin(peer).has(endpoint);
  }
}

const bigintAsText = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString(16) : value);

/**
 * Everything a group's content depends on, serialized: the rules (with their policies' names, priorities and
 * monitor flags, and the global monitor flag), the addresses each selector peer selects, and for egress named
 * ports the endpoints naming them. Hashed by the caller.
 */
export function groupInputs(context: EvaluationContext, rules: ApplicableRules, family: Family, cache: SelectionCache): string {
  const { slots } = peerSlots(rules);
  const selections = slots.map((slot) => {
    const peer = slot.peer;
    if (peer.kind === 'networks' || peer.kind === 'ipBlock') return '';
    const selected = slot.kind === 'admin'
      ? cache.admin(peer as Exclude<AdminPeer, { kind: 'networks' }>)
      : cache.networkPolicy(peer as Extract<NetworkPolicyPeer, { kind: 'selector' }>, slot.policy);
    return cache.addressText(selected, selected, family);
  });
  const named = rules.direction === 'egress'
    ? [...new Set(applicablePorts(rules).filter((port) => port.kind === 'named').map((port) => port.name))].sort().map((name) =>
      cache.namingPort(name).map((endpoint) => [cache.addressText([endpoint], endpoint, family), endpoint.namedPorts.filter((port) => port.name === name)]))
    : [];
  return JSON.stringify([
    context.policies.monitor,
    rules.admin.map(({ policy, rule }) => [policy.name, policy.priority, policy.monitor, rule]),
    rules.networkPolicies.map((policy) => [policy.namespace, policy.name, policy.monitor, policy[rules.direction]]),
    rules.baseline.map(({ policy, rule }) => [policy.monitor, rule]),
    selections,
    named,
  ], bigintAsText);
}

/** `drop/<action>` or `monitor/<action>`; null for allow. */
export function actionOf(decision: DirectionDecision): string | null {
  if (decision.verdict === 'allow') return null;
  assert(decision.action !== null, 'a deny decision names its action');
  return `${decision.verdict === 'monitor' ? 'monitor' : 'drop'}/${decision.action}`;
}

interface Run {
  readonly low: number;
  readonly high: number;
  readonly action: string | null;
}

function pushRun(runs: Run[], low: number, high: number, action: string | null): void {
  const last = runs[runs.length - 1];
  if (last !== undefined && last.action === action && last.high + 1 === low) runs[runs.length - 1] = { low: last.low, high, action };
  else runs.push({ low, high, action });
}

interface ProtocolRun {
  readonly low: number;
  readonly high: number;
  readonly ports: readonly Run[];
  readonly signature: string;
}

/** The protocol × port verdicts for one peer signature. */
function profileOf(context: EvaluationContext, rules: ApplicableRules, matcher: PeerMatcher, ports: readonly PortMatch[]): ProtocolRun[] {
  const destination = rules.direction === 'ingress' ? rules.subject : matcher.endpoint;
  const profile: ProtocolRun[] = [];
  for (const cell of protocolCells) {
    const runs: Run[] = [];
    if (!cell.ports) {
      pushRun(runs, 0, 65535, actionOf(decideWithMatcher(context, rules, matcher, portlessProtocol, null)));
    } else {
      for (const portCell of portCells(cell.low, ports, destination)) {
        pushRun(runs, portCell.low, portCell.high, actionOf(decideWithMatcher(context, rules, matcher, cell.low, portCell.low)));
      }
    }
    const signature = runs.map((run) => `${run.low}-${run.high}:${run.action ?? ''}`).join(',');
    const last = profile[profile.length - 1];
    if (last !== undefined && last.signature === signature) profile[profile.length - 1] = { ...last, high: cell.high };
    else profile.push({ low: cell.low, high: cell.high, ports: runs, signature });
  }
  return profile;
}

interface Region {
  readonly low: bigint;
  high: bigint;
  readonly profile: readonly ProtocolRun[];
  readonly signature: string;
}

/** Peer regions (adjacent cells with the same verdicts merged), each with its protocol × port verdicts. */
function regionsOf(context: EvaluationContext, rules: ApplicableRules, family: Family, cache: SelectionCache): Region[] {
  const { slots, index } = peerSlots(rules);
  const cuts = peerCuts(rules, slots, family, cache);
  const ports = applicablePorts(rules);
  const namedEgress = rules.direction === 'egress' ? new Set(ports.filter((port) => port.kind === 'named').map((port) => port.name)) : new Set<string>();
  const profiles = new Map<string, ProtocolRun[]>();
  const regions: Region[] = [];
  for (const cell of addressCells(family, cuts.points, cuts.ranges)) {
    const endpoint = cell.low === cell.high ? context.endpointByAddress.get(addressKey({ family, value: cell.low })) ?? null : null;
    const bits = slots.map((slot) => slotMatches(slot, cell, family, endpoint, cache));
    const named = endpoint === null || namedEgress.size === 0 ? '' : JSON.stringify(endpoint.namedPorts.filter((port) => namedEgress.has(port.name)));
    const key = `${bits.map((bit) => (bit ? '1' : '0')).join('')}|${named}`;
    let profile = profiles.get(key);
    if (profile === undefined) {
      const slotOf = (peer: object): boolean => {
        const position = index.get(peer);
        assert(position !== undefined, 'every peer of the applicable rules has a slot');
        return bits[position] === true;
      };
      profile = profileOf(context, rules, { admin: slotOf, networkPolicy: slotOf, endpoint }, ports);
      profiles.set(key, profile);
    }
    const signature = profile.map((run) => `${run.low}-${run.high}[${run.signature}]`).join(';');
    const last = regions[regions.length - 1];
    if (last !== undefined && last.signature === signature && last.high + 1n === cell.low) last.high = cell.high;
    else regions.push({ low: cell.low, high: cell.high, profile, signature });
  }
  return regions;
}

/** The default verdict that leaves the fewest boxes; ties prefer "allow", then the smaller name. */
function chooseDefault(regions: readonly Region[]): string | null {
  const counts = new Map<string | null, number>();
  let total = 0;
  for (const region of regions) {
    for (const protocols of region.profile) {
      for (const run of protocols.ports) {
        counts.set(run.action, (counts.get(run.action) ?? 0) + 1);
        total += 1;
      }
    }
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

export function groupContent(context: EvaluationContext, rules: ApplicableRules, family: Family, cache: SelectionCache): { defaultAction: string | null; boxes: Box[] } {
  const regions = regionsOf(context, rules, family, cache);
  const defaultAction = chooseDefault(regions);
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
