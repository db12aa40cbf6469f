/**
 * Building the IR's pieces from the evaluator's verdicts: a group's head (default verdict and the boxes of the
 * address space outside its peers) and profiles. Action ids become chain names here; each builder also returns
 * the action chains its result refers to.
 */
import type { Family } from '../model/address.js';
import type { ApplicableRules } from '../evaluate/context.js';
import { assert } from '../errors.js';
import { applicablePorts, chooseDefault, outsideContent, type ProtocolRun, type Run, type RunsOf, type Slot } from './group.js';
import type { ActionChain, Box, Group, PortBox, Profile } from './ir.js';
import { actionChain, actionChainName, groupName, hash } from './names.js';

/** A group without its exact-mode peers: what depends on the rules alone. */
export type GroupHead = Omit<Group, 'peers' | 'peerProfiles'>;

/**
 * What makes two subjects share a group: the same applicable rules, and for ingress rules with named ports the
 * same container ports (they resolve on the subject).
 */
export function groupIdentity(rules: ApplicableRules, family: Family): string {
  const usesNamedPorts = rules.direction === 'ingress' && applicablePorts(rules).some((port) => port.kind === 'named');
  return JSON.stringify([
    rules.direction, family,
    rules.admin.map(({ policy, rule }) => [policy.name, rule.index]),
    rules.networkPolicies.map((policy) => `${policy.namespace}/${policy.name}`),
    rules.baseline.map(({ rule }) => rule.index),
    usesNamedPorts ? rules.subject.namedPorts.map((port) => `${port.name}/${port.protocol}/${port.port}`).sort() : [],
  ]);
}

function chainsOf(ids: Iterable<string | null>): { names: string[]; chains: ActionChain[] } {
  const chains = new Map<string, ActionChain>();
  for (const id of ids) if (id !== null) chains.set(actionChainName(id), actionChain(id));
  return { names: [...chains.keys()].sort(), chains: [...chains.values()] };
}

function checkBoxes(boxes: readonly Box[], group: string): void {
  for (const [index, box] of boxes.entries()) {
    assert(box.peerLow <= box.peerHigh && box.protocolLow <= box.protocolHigh && box.portLow <= box.portHigh, `box bounds in ${group}`);
    const previous = boxes[index - 1];
    if (previous === undefined) continue;
    const ordered = previous.peerLow < box.peerLow
      || (previous.peerLow === box.peerLow && (previous.protocolLow < box.protocolLow
        || (previous.protocolLow === box.protocolLow && previous.portLow < box.portLow)));
    assert(ordered, `boxes of ${group} are sorted`);
    // Boxes come from a grid (peer regions × protocol runs × port runs), so sorted + non-overlapping neighbours
    // within a region is enough: regions themselves are disjoint intervals.
    if (previous.peerLow === box.peerLow) {
      assert(previous.peerHigh === box.peerHigh, `boxes of one peer region in ${group} share bounds`);
      assert(previous.protocolHigh < box.protocolLow || (previous.protocolLow === box.protocolLow && previous.portHigh < box.portLow),
        `boxes of ${group} are disjoint`);
    } else {
      assert(previous.peerHigh < box.peerLow, `peer regions of ${group} are disjoint`);
    }
  }
}

/** `decisions`: the rules' peers, their decisions and the key of everything those read (see decisions.ts). */
export function buildHead(
  rules: ApplicableRules, family: Family, identity: string, decisions: { slots: readonly Slot[]; runsOf: RunsOf; key: string },
): { head: Omit<GroupHead, 'selectorRules'>; chains: ActionChain[] } {
  const name = groupName(rules.direction, family, identity);
  const content = outsideContent(decisions.slots, family, decisions.runsOf);
  const { names, chains } = chainsOf([content.defaultAction, ...content.boxes.map((box) => box.action)]);
  const defaultAction = content.defaultAction === null ? null : actionChainName(content.defaultAction);
  const boxes = content.boxes.map((box) => ({ ...box, action: box.action === null ? null : actionChainName(box.action) }));
  checkBoxes(boxes, name);
  assert(boxes.every((box) => box.action !== defaultAction), `no box of ${name} repeats its default`);
  const fingerprint = hash(`${identity}\n${decisions.key}`, 32);
  return { head: { name, direction: rules.direction, family, fingerprint, defaultAction, boxes, actions: names }, chains };
}

/** A profile from a peer's protocol × port runs: the most common verdict as default, the rest as boxes. */
export function buildProfile(runs: readonly ProtocolRun[]): { profile: Profile; chains: ActionChain[] } {
  const flat: (Run & { protocolLow: number; protocolHigh: number })[] = [];
  for (const protocols of runs) for (const run of protocols.ports) flat.push({ ...run, protocolLow: protocols.low, protocolHigh: protocols.high });
  const defaultId = chooseDefault(flat);
  const { names, chains } = chainsOf(flat.map((run) => run.action));
  const boxes: PortBox[] = flat.filter((run) => run.action !== defaultId).map((run) => ({
    protocolLow: run.protocolLow, protocolHigh: run.protocolHigh, portLow: run.low, portHigh: run.high,
    action: run.action === null ? null : actionChainName(run.action),
  }));
  const defaultAction = defaultId === null ? null : actionChainName(defaultId);
  const name = `pr-${hash(JSON.stringify([defaultAction, boxes]), 16)}`;
  return { profile: { name, defaultAction, boxes, actions: names }, chains };
}
