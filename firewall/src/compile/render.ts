/**
 * Rendering the IR as libnftables JSON commands. Everything Berth owns lives in `table inet berth-firewall`;
 * nothing outside it is read or changed.
 */
import type { NftCommand, NftExpression, NftMapElement, NftScript, NftStatement } from '@berth/nftables-napi';
import { formatAddress, type Family } from '../model/address.js';
import type { Direction } from '../evaluate/context.js';
import { monitorTag } from './names.js';
import {
  dispatchNames, monitorHitSeconds, monitorHitSet, monitorHitsMax, peerSetName, tableName, type ActionChain, type Box, type CompiledFirewall, type DispatchName, type Group, type PortBox, type Profile, type SelectionSet,
} from './ir.js';

const family = 'inet' as const;
const table = { family, table: tableName } as const;

/** The set holding one element, the generation; a diff deletes the old value, so a stale diff aborts. */
export const generationSet = 'generation';
export const forwardChain = 'forward';
/** Log lines are best effort (a non-initial netns only logs with nf_log_all_netns=1); at most this many per second per action. */
const logRatePerSecond = 10;
const logBurst = 20;

function ipProtocol(familyOf: Family): 'ip' | 'ip6' {
  return familyOf === 4 ? 'ip' : 'ip6';
}

function range<T extends NftExpression>(low: T, high: T): NftExpression {
  return low === high ? low : { range: [low, high] };
}

export function boxElement(box: Box, familyOf: Family): NftMapElement {
  const key: NftExpression = {
    concat: [
      range(formatAddress({ family: familyOf, value: box.peerLow }), formatAddress({ family: familyOf, value: box.peerHigh })),
      range(box.protocolLow, box.protocolHigh),
      range(box.portLow, box.portHigh),
    ],
  };
  // goto, not jump: when a monitor chain ends, control goes back to the forward chain, not to the default rule.
  return [key, box.action === null ? { return: null } : { goto: { target: box.action } }];
}

export function dispatchElement(address: string, group: string): NftMapElement {
  return [address, { jump: { target: group } }];
}

const protocolAndPort: NftExpression[] = [{ meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }];

/** Records the packet in the family's monitor-hit set (an IPv6 packet does not match the IPv4 rule, and back). */
function recordHit(action: ActionChain, familyOf: Family): NftStatement[] {
  const address = (field: 'saddr' | 'daddr'): NftExpression => ({ payload: { protocol: ipProtocol(familyOf), field } });
  const elem: NftExpression = { concat: [monitorTag(action.name), address('saddr'), address('daddr'), ...protocolAndPort] };
  return [{ set: { op: 'update', elem, set: `@${monitorHitSet(familyOf)}` } }];
}

function actionRules(action: ActionChain): NftStatement[][] {
  const log: NftStatement[] = [
    { limit: { rate: logRatePerSecond, per: 'second', burst: logBurst } },
    { log: { prefix: action.logPrefix } },
  ];
  if (action.verb === 'drop') return [log, [{ counter: null }, { drop: null }]];
  return [log, [{ counter: null }], recordHit(action, 4), recordHit(action, 6)];
}

/** The monitor-hit sets: (tag . source . destination . protocol . port), dynamic (filled from the packet path). */
function addMonitorHitSets(): NftCommand[] {
  return ([4, 6] as const).map((familyOf): NftCommand => ({
    add: {
      set: {
        ...table, name: monitorHitSet(familyOf), type: ['mark', addressType(familyOf), addressType(familyOf), 'inet_proto', 'inet_service'], flags: ['timeout'], timeout: monitorHitSeconds, size: monitorHitsMax,
      },
    },
  }));
}

export function addActionChain(action: ActionChain): NftCommand[] {
  return [
    { add: { chain: { ...table, name: action.name } } },
    ...actionRules(action).map((expr): NftCommand => ({ add: { rule: { ...table, chain: action.name, expr } } })),
  ];
}

export function deleteActionChain(action: ActionChain): NftCommand {
  return { delete: { chain: { ...table, name: action.name } } };
}

function peerField(group: Pick<Group, 'direction' | 'family'>): NftExpression {
  return { payload: { protocol: ipProtocol(group.family), field: group.direction === 'egress' ? 'daddr' : 'saddr' } };
}

function addressType(familyOf: Family): 'ipv4_addr' | 'ipv6_addr' {
  return familyOf === 4 ? 'ipv4_addr' : 'ipv6_addr';
}

export function groupKeyType(familyOf: Family): readonly ['ipv4_addr' | 'ipv6_addr', 'inet_proto', 'inet_service'] {
  return [addressType(familyOf), 'inet_proto', 'inet_service'];
}

/** A group without its peers' addresses: what its chain and its maps' shapes depend on. */
export type GroupShape = Omit<Group, 'peers'>;

/**
 * The group chain's rules: selectors mode, one per combination of selection sets (most specific first); exact
 * mode, one per profile of its peers (those sets are disjoint, so their order does not matter); the boxes; then
 * the default verdict for a miss (none when it is "allow").
 */
export function groupRules(group: GroupShape): NftCommand[] {
  const inSet = (set: string): NftStatement => ({ match: { op: '==', left: peerField(group), right: `@${set}` } });
  const rules: NftStatement[][] = [
    ...group.selectorRules.map((rule) => [...rule.sets.map(inSet), { goto: { target: rule.profile } }]),
    ...group.peerProfiles.map((profile) => [inSet(peerSetName(group.name, profile)), { goto: { target: profile } }]),
  ];
  if (group.boxes.length > 0) rules.push([{ vmap: { key: { concat: [peerField(group), ...protocolAndPort] }, data: `@${group.name}` } }]);
  if (group.defaultAction !== null) rules.push([{ goto: { target: group.defaultAction } }]);
  return rules.map((expr): NftCommand => ({ add: { rule: { ...table, chain: group.name, expr } } }));
}

export function addPeerSet(group: Pick<Group, 'name' | 'family'>, profile: string): NftCommand {
  return { add: { set: { ...table, name: peerSetName(group.name, profile), type: group.family === 4 ? 'ipv4_addr' : 'ipv6_addr' } } };
}

export function deletePeerSet(group: string, profile: string): NftCommand {
  return deleteSet(peerSetName(group, profile));
}

/** The peers' addresses by profile, each list sorted. */
export function peersByProfile(peers: Iterable<readonly [string, string]>): Map<string, string[]> {
  const byProfile = new Map<string, string[]>();
  for (const [address, profile] of peers) {
    let addresses = byProfile.get(profile);
    if (addresses === undefined) byProfile.set(profile, addresses = []);
    addresses.push(address);
  }
  for (const addresses of byProfile.values()) addresses.sort();
  return byProfile;
}

/** The group's map of boxes, with its elements; a group without boxes has no map (fewer objects, cheaper updates). */
export function addBoxMap(group: Pick<Group, 'name' | 'family' | 'boxes'>): NftCommand[] {
  return [
    { add: { map: { ...table, name: group.name, type: groupKeyType(group.family), map: 'verdict', flags: ['interval'] } } },
    groupElements('add', group.name, group.family, group.boxes),
  ];
}

export function deleteBoxMap(group: string): NftCommand {
  return { delete: { map: { ...table, name: group } } };
}

export function addGroup(group: Group): NftCommand[] {
  const commands: NftCommand[] = group.boxes.length > 0 ? addBoxMap(group) : [];
  const byProfile = peersByProfile(group.peers);
  for (const profile of group.peerProfiles) {
    commands.push(addPeerSet(group, profile));
    commands.push(peerElements('add', group.name, profile, byProfile.get(profile) ?? []));
  }
  commands.push({ add: { chain: { ...table, name: group.name } } });
  commands.push(...groupRules(group));
  return commands;
}

/** Replaces a group's rules (its default or its peers' profiles changed): flush and refill, in the same transaction. */
export function replaceGroupRules(group: GroupShape): NftCommand[] {
  return [{ flush: { chain: { ...table, name: group.name } } }, ...groupRules(group)];
}

/** The chain goes first: its rules are what refer to the map and the sets. */
export function deleteGroup(group: Pick<Group, 'name' | 'peerProfiles' | 'boxes'>): NftCommand[] {
  return [
    { delete: { chain: { ...table, name: group.name } } },
    ...(group.boxes.length > 0 ? [deleteBoxMap(group.name)] : []),
    ...group.peerProfiles.map((profile) => deletePeerSet(group.name, profile)),
  ];
}

export function peerElements(verb: 'add' | 'delete', group: string, profile: string, addresses: readonly string[]): NftCommand {
  return setElements(verb, peerSetName(group, profile), addresses);
}

function portBoxElement(box: PortBox): NftMapElement {
  const key: NftExpression = { concat: [range(box.protocolLow, box.protocolHigh), range(box.portLow, box.portHigh)] };
  return [key, box.action === null ? { return: null } : { goto: { target: box.action } }];
}

/** A profile: its map of (protocol . port) boxes and its chain (lookup, then the default). */
export function addProfile(profile: Profile): NftCommand[] {
  const commands: NftCommand[] = [
    { add: { map: { ...table, name: profile.name, type: ['inet_proto', 'inet_service'], map: 'verdict', flags: ['interval'] } } },
  ];
  if (profile.boxes.length > 0) commands.push({ add: { element: { ...table, name: profile.name, elem: profile.boxes.map(portBoxElement) } } });
  commands.push({ add: { chain: { ...table, name: profile.name } } });
  const rules: NftStatement[][] = [[{ vmap: { key: { concat: protocolAndPort }, data: `@${profile.name}` } }]];
  if (profile.defaultAction !== null) rules.push([{ goto: { target: profile.defaultAction } }]);
  commands.push(...rules.map((expr): NftCommand => ({ add: { rule: { ...table, chain: profile.name, expr } } })));
  return commands;
}

/** A selection set with its elements (sorted). */
export function addSelectionSet(set: SelectionSet): NftCommand[] {
  const commands: NftCommand[] = [{ add: { set: { ...table, name: set.name, type: set.family === 4 ? 'ipv4_addr' : 'ipv6_addr' } } }];
  if (set.addresses.size > 0) commands.push(setElements('add', set.name, [...set.addresses].sort()));
  return commands;
}

export function deleteSet(name: string): NftCommand {
  return { delete: { set: { ...table, name } } };
}

export function setElements(verb: 'add' | 'delete', name: string, addresses: readonly string[]): NftCommand {
  const element = { ...table, name, elem: [...addresses] };
  return verb === 'add' ? { add: { element } } : { delete: { element } };
}

export function deleteProfile(profile: Pick<Profile, 'name'>): NftCommand[] {
  return [{ delete: { chain: { ...table, name: profile.name } } }, { delete: { map: { ...table, name: profile.name } } }];
}

export function groupElements(verb: 'add' | 'delete', name: string, familyOf: Family, boxes: readonly Box[]): NftCommand {
  const element = { ...table, name, elem: boxes.map((box) => boxElement(box, familyOf)) };
  return verb === 'add' ? { add: { element } } : { delete: { element } };
}

export function dispatchElements(verb: 'add' | 'delete', name: DispatchName, entries: readonly (readonly [string, string])[]): NftCommand {
  const element = { ...table, name, elem: entries.map(([address, group]) => dispatchElement(address, group)) };
  return verb === 'add' ? { add: { element } } : { delete: { element } };
}

function dispatchFamily(name: DispatchName): Family {
  return name.endsWith('6') ? 6 : 4;
}

function dispatchDirection(name: DispatchName): Direction {
  return name.startsWith('egress') ? 'egress' : 'ingress';
}

function forwardRules(): NftStatement[][] {
  const rules: NftStatement[][] = [[{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { accept: null }]];
  for (const name of dispatchNames) {
    const field = dispatchDirection(name) === 'egress' ? 'saddr' : 'daddr';
    rules.push([{ vmap: { key: { payload: { protocol: ipProtocol(dispatchFamily(name)), field } }, data: `@${name}` } }]);
  }
  return rules;
}

function sortedEntries(map: ReadonlyMap<string, string>): [string, string][] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function sortedByName<T extends { readonly name: string }>(values: Iterable<T>): T[] {
  return [...values].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The full resync: one transaction that creates the table if missing, deletes it, and builds it again, so the
 * kernel switches from the old ruleset to the new one atomically (no window without rules) and conntrack
 * entries (established flows) survive. The monitor-hit sets start empty: carryMonitorHits() re-adds what they held.
 */
export function renderFull(compiled: CompiledFirewall, generation: number): NftScript {
  const commands: NftCommand[] = [
    { add: { table: { family, name: tableName } } },
    { delete: { table: { family, name: tableName } } },
    { add: { table: { family, name: tableName } } },
    { add: { set: { ...table, name: generationSet, type: 'mark' } } },
    { add: { element: { ...table, name: generationSet, elem: [generation] } } },
    ...addMonitorHitSets(),
  ];
  for (const action of sortedByName(compiled.actions.values())) commands.push(...addActionChain(action));
  for (const profile of sortedByName(compiled.profiles.values())) commands.push(...addProfile(profile));
  for (const set of sortedByName(compiled.selections.values())) commands.push(...addSelectionSet(set));
  for (const group of sortedByName(compiled.groups.values())) commands.push(...addGroup(group));
  for (const name of dispatchNames) {
    commands.push({ add: { map: { ...table, name, type: dispatchFamily(name) === 4 ? 'ipv4_addr' : 'ipv6_addr', map: 'verdict' } } });
    const entries = sortedEntries(compiled.dispatch.get(name) ?? new Map());
    if (entries.length > 0) commands.push(dispatchElements('add', name, entries));
  }
  commands.push({ add: { chain: { ...table, name: forwardChain, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } } });
  for (const expr of forwardRules()) commands.push({ add: { rule: { ...table, chain: forwardChain, expr } } });
  return { nftables: commands };
}

/** A listed monitor hit, to carry across a full resync: its key as listed, and the seconds it had left. */
export interface CarriedHit {
  readonly family: Family;
  readonly key: NftExpression;
  readonly expiresSeconds: number;
}

/** Re-adds listed monitor hits with the time they had left, so a full resync does not forget the recent would-be drops. */
export function carryMonitorHits(hits: readonly CarriedHit[]): NftCommand[] {
  return ([4, 6] as const).flatMap((familyOf): NftCommand[] => {
    const elem = hits.filter((hit) => hit.family === familyOf && hit.expiresSeconds >= 1)
      .map((hit): NftExpression => ({ elem: { val: hit.key, expires: Math.min(hit.expiresSeconds, monitorHitSeconds) } }));
    return elem.length === 0 ? [] : [{ add: { element: { ...table, name: monitorHitSet(familyOf), elem } } }];
  });
}

/** Removes everything Berth's firewall put into the namespace (one transaction; fine if it is absent). */
export function renderRemove(): NftScript {
  return { nftables: [{ add: { table: { family, name: tableName } } }, { delete: { table: { family, name: tableName } } }] };
}

export { sortedEntries };
