/**
 * The boxes of one group: for the rules that apply to a subject in one direction, every (peer address,
 * protocol, port) whose verdict is not "allow", as few disjoint boxes as adjacent merging gives.
 *
 * Peer addresses are cut at every address a selector of those rules picks (each such endpoint address is a
 * cell of its own) and at every CIDR boundary; addresses in between are alike for every rule, so the cell's
 * first address decides for all of it. Ports are cut likewise per protocol. The verdict of a cell comes from
 * the evaluator itself (decideDirection), so compiler and `explain` cannot disagree on semantics; what the
 * compiler adds is the cutting, the merging and the encoding, which the property test checks.
 */
import { parseAddress, type AddressRange, type Family } from '../model/address.js';
import type { Endpoint, NetworkPolicyPeer, PortMatch } from '../model/types.js';
import { addressKey, type ApplicableRules, type EvaluationContext } from '../evaluate/context.js';
import { decideDirection, type DirectionDecision } from '../evaluate/direction.js';
import { podSetSelects, selectorPeerSelects, type PeerAddress } from '../evaluate/match.js';
import type { AdminPeer, NetworkPolicy } from '../model/types.js';
import { addressCells, portCells, portlessProtocol, protocolCells } from './partition.js';
import type { Box } from './ir.js';
import { assert } from '../errors.js';

/** Memoizes which endpoints a peer selects; peers are immutable parts of immutable policies. */
export class SelectionCache {
  readonly #selected = new WeakMap<object, readonly Endpoint[]>();
  readonly #byPortName = new Map<string, readonly Endpoint[]>();
  readonly #context: EvaluationContext;

  constructor(context: EvaluationContext) {
    this.#context = context;
  }

  admin(peer: Exclude<AdminPeer, { kind: 'networks' }>): readonly Endpoint[] {
    let selected = this.#selected.get(peer);
    if (selected === undefined) {
      selected = this.#context.endpoints.filter((endpoint) => podSetSelects(peer, endpoint, this.#context.namespaceLabels));
      this.#selected.set(peer, selected);
    }
    return selected;
  }

  networkPolicy(peer: Extract<NetworkPolicyPeer, { kind: 'selector' }>, policy: NetworkPolicy): readonly Endpoint[] {
    let selected = this.#selected.get(peer);
    if (selected === undefined) {
      selected = this.#context.endpoints.filter((endpoint) => selectorPeerSelects(peer, endpoint, policy, this.#context.namespaceLabels));
      this.#selected.set(peer, selected);
    }
    return selected;
  }

  namingPort(name: string): readonly Endpoint[] {
    let selected = this.#byPortName.get(name);
    if (selected === undefined) {
      selected = this.#context.endpoints.filter((endpoint) => endpoint.namedPorts.some((port) => port.name === name));
      this.#byPortName.set(name, selected);
    }
    return selected;
  }
}

/** Every port entry of every applicable rule. */
export function applicablePorts(rules: ApplicableRules): PortMatch[] {
  const ports: PortMatch[] = [];
  for (const { rule } of [...rules.admin, ...rules.baseline]) ports.push(...(rule.ports ?? []));
  for (const policy of rules.networkPolicies) for (const rule of policy[rules.direction]) ports.push(...(rule.ports ?? []));
  return ports;
}

interface Cuts {
  readonly points: Set<bigint>;
  readonly ranges: AddressRange[];
}

function addEndpoints(cuts: Cuts, endpoints: readonly Endpoint[], family: Family): void {
  for (const endpoint of endpoints) {
    for (const ip of endpoint.ips) {
      const address = parseAddress(ip);
      if (address !== null && address.family === family) cuts.points.add(address.value);
    }
  }
}

function peerCuts(rules: ApplicableRules, family: Family, cache: SelectionCache): Cuts {
  const cuts: Cuts = { points: new Set(), ranges: [] };
  for (const { rule } of [...rules.admin, ...rules.baseline]) {
    for (const peer of rule.peers) {
      if (peer.kind === 'networks') cuts.ranges.push(...peer.networks);
      else addEndpoints(cuts, cache.admin(peer), family);
    }
  }
  for (const policy of rules.networkPolicies) {
    for (const rule of policy[rules.direction]) {
      for (const peer of rule.peers ?? []) {
        if (peer.kind === 'ipBlock') cuts.ranges.push(peer.cidr, ...peer.except);
        else addEndpoints(cuts, cache.networkPolicy(peer, policy), family);
      }
    }
  }
  if (rules.direction === 'egress') {
    // Egress named ports are resolved on the destination, so endpoints naming them must be cells of their own.
    for (const port of applicablePorts(rules)) if (port.kind === 'named') addEndpoints(cuts, cache.namingPort(port.name), family);
  }
  return cuts;
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

/** The protocol × port profile of one peer cell. */
function profileOf(context: EvaluationContext, rules: ApplicableRules, peer: PeerAddress, ports: readonly PortMatch[]): ProtocolRun[] {
  const destination = rules.direction === 'ingress' ? rules.subject : peer.endpoint;
  const profile: ProtocolRun[] = [];
  for (const cell of protocolCells) {
    const runs: Run[] = [];
    if (!cell.ports) {
      pushRun(runs, 0, 65535, actionOf(decideDirection(context, rules, peer, portlessProtocol, null)));
    } else {
      for (const portCell of portCells(cell.low, ports, destination)) {
        pushRun(runs, portCell.low, portCell.high, actionOf(decideDirection(context, rules, peer, cell.low, portCell.low)));
      }
    }
    const signature = runs.map((run) => `${run.low}-${run.high}:${run.action ?? ''}`).join(',');
    const last = profile[profile.length - 1];
    if (last !== undefined && last.signature === signature) profile[profile.length - 1] = { ...last, high: cell.high };
    else profile.push({ low: cell.low, high: cell.high, ports: runs, signature });
  }
  return profile;
}

export function groupBoxes(context: EvaluationContext, rules: ApplicableRules, family: Family, cache: SelectionCache): Box[] {
  const cuts = peerCuts(rules, family, cache);
  const ports = applicablePorts(rules);
  const merged: { low: bigint; high: bigint; profile: ProtocolRun[]; signature: string }[] = [];
  for (const cell of addressCells(family, cuts.points, cuts.ranges)) {
    const endpoint = cell.low === cell.high ? context.endpointByAddress.get(addressKey({ family, value: cell.low })) ?? null : null;
    const profile = profileOf(context, rules, { address: { family, value: cell.low }, endpoint }, ports);
    const signature = profile.map((run) => `${run.low}-${run.high}[${run.signature}]`).join(';');
    const last = merged[merged.length - 1];
    if (last !== undefined && last.signature === signature) last.high = cell.high;
    else merged.push({ low: cell.low, high: cell.high, profile, signature });
  }
  const boxes: Box[] = [];
  for (const region of merged) {
    for (const protocols of region.profile) {
      for (const run of protocols.ports) {
        if (run.action === null) continue;
        boxes.push({
          peerLow: region.low, peerHigh: region.high, protocolLow: protocols.low, protocolHigh: protocols.high,
          portLow: run.low, portHigh: run.high, action: run.action,
        });
      }
    }
  }
  return boxes;
}
