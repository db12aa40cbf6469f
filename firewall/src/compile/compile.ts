/**
 * compile(): (policies, namespaces, endpoints) → the table's content. Pure: same input, same output,
 * including names (groups are named by a hash of what identifies them, never by a counter).
 */
import { createHash } from 'node:crypto';
import type { Family } from '../model/address.js';
import type { Endpoint, Namespace, PolicySet } from '../model/types.js';
import { applicableRules, buildContext, isUnconstrained, type ApplicableRules, type Direction } from '../evaluate/context.js';
import { assert } from '../errors.js';
import { applicablePorts, groupContent, groupInputs, SelectionCache } from './group.js';
import { boxKey, dispatchName, dispatchNames, type ActionChain, type Box, type CompiledFirewall, type DispatchName, type Group } from './ir.js';

export interface FirewallInput {
  readonly policies: PolicySet;
  readonly namespaces: readonly Namespace[];
  readonly endpoints: readonly Endpoint[];
}

const chainNameLengthMax = 200;
const logPrefixLengthMax = 120;

function hash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * What makes two subjects share a group: the same applicable rules, and for ingress rules with named ports the
 * same container ports (they resolve on the subject).
 */
function groupIdentity(rules: ApplicableRules, family: Family): string {
  const usesNamedPorts = rules.direction === 'ingress' && applicablePorts(rules).some((port) => port.kind === 'named');
  return JSON.stringify([
    rules.direction, family,
    rules.admin.map(({ policy, rule }) => [policy.name, rule.index]),
    rules.networkPolicies.map((policy) => `${policy.namespace}/${policy.name}`),
    rules.baseline.map(({ rule }) => rule.index),
    usesNamedPorts ? rules.subject.namedPorts.map((port) => `${port.name}/${port.protocol}/${port.port}`).sort() : [],
  ]);
}

function groupName(direction: Direction, family: Family, identity: string): string {
  return `${direction === 'ingress' ? 'in' : 'eg'}${family}-${hash(identity, 16)}`;
}

/** Chain names are at most 255 bytes in the kernel; long policy names are shortened with a hash. */
export function actionChainName(action: string): string {
  return action.length <= chainNameLengthMax ? action : `${action.slice(0, chainNameLengthMax - 17)}~${hash(action, 16)}`;
}

function actionChain(action: string): ActionChain {
  const verb = action.startsWith('monitor/') ? 'monitor' : 'drop';
  const prefix = `berth-fw ${action}: `;
  return {
    name: actionChainName(action),
    verb,
    logPrefix: prefix.length <= logPrefixLengthMax ? prefix : `${prefix.slice(0, logPrefixLengthMax - 3)}~: `,
  };
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

/**
 * `previous`, when given, is what was compiled (and applied) before: groups whose fingerprint did not change are
 * taken from it as they are, so a change costs in proportion to the groups it touches.
 */
function buildGroup(
  head: Pick<Group, 'name' | 'direction' | 'family' | 'fingerprint'>, content: { defaultAction: string | null; boxes: readonly Box[] },
): Group | null {
  const boxes = content.boxes.map((box) => ({ ...box, action: box.action === null ? null : actionChainName(box.action) }));
  const defaultAction = content.defaultAction === null ? null : actionChainName(content.defaultAction);
  checkBoxes(boxes, head.name);
  assert(boxes.every((box) => box.action !== defaultAction), `no box of ${head.name} repeats its default`);
  if (boxes.length === 0 && defaultAction === null) return null;
  const actions = new Set<string>();
  for (const action of [defaultAction, ...boxes.map((box) => box.action)]) if (action !== null) actions.add(action);
  return { ...head, defaultAction, boxes, actions: [...actions].sort() };
}

export function compile(input: FirewallInput, previous: CompiledFirewall | null = null): CompiledFirewall {
  const context = buildContext(input.policies, input.namespaces, input.endpoints);
  const cache = new SelectionCache(context);
  const groups = new Map<string, Group>();
  const computed = new Map<string, Group | null>();
  const dispatch = new Map<DispatchName, Map<string, string>>(dispatchNames.map((name) => [name, new Map()]));
  const actions = new Map<string, ActionChain>();
  const sortedEndpoints = [...input.endpoints].sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
  for (const endpoint of sortedEndpoints) {
    for (const direction of ['egress', 'ingress'] as const) {
      const rules = applicableRules(context, direction, endpoint);
      if (isUnconstrained(rules)) continue;
      for (const family of [4, 6] as const) {
        const addresses = endpoint.ips.filter((_ip, index) => cache.addresses(endpoint)[index]?.family === family);
        if (addresses.length === 0) continue;
        const identity = groupIdentity(rules, family);
        let group = computed.get(identity);
        if (group === undefined) {
          const name = groupName(direction, family, identity);
          const fingerprint = hash(`${identity}\n${groupInputs(context, rules, family, cache)}`, 32);
          const reusable = previous?.groups.get(name);
          group = reusable !== undefined && reusable.fingerprint === fingerprint
            ? reusable
            : buildGroup({ name, direction, family, fingerprint }, groupContent(context, rules, family, cache));
          computed.set(identity, group);
          if (group !== null) {
            assert(!groups.has(name), `group name ${name} is unique`);
            groups.set(name, group);
          }
        }
        if (group === null) continue;
        const map = dispatch.get(dispatchName(direction, family));
        assert(map !== undefined, 'dispatch maps exist');
        for (const address of addresses) map.set(address, group.name);
      }
    }
  }
  for (const group of groups.values()) {
    for (const action of group.actions) if (!actions.has(action)) actions.set(action, actionChain(action));
  }
  return { actions, groups, dispatch };
}

export { boxKey };
