/**
 * renderDelta(): the one transaction that turns a table holding the state before a change log into one holding
 * `now`, made of element adds and deletes (plus chains and maps for groups, profiles and actions that appear or
 * disappear). Only what the log names is looked at, so the cost follows the change, not the table.
 *
 * Order inside the transaction matters to the kernel's reference counting, not to packets (they see the old or
 * the new state, never a mix): new action chains before the profiles and groups that jump to them; new
 * profiles before the peers elements that go to them; new groups before the dispatch entries that jump to
 * them; then the removals in the reverse order. Within a map, deletes come before adds (an element whose value
 * changes is deleted and re-added); a peer whose profile changes moves from one peer set to another. A group
 * whose default verdict or whose peers' profiles change gets its rules replaced (flush + add) after its new peer
 * sets exist and before its old ones are deleted.
 */
import type { NftCommand, NftScript } from '@berth/nftables-napi';
import type { ChangeLog } from './change-log.js';
import { boxKey, dispatchNames, tableName, type Box, type CompiledFirewall, type Group } from './ir.js';
import type { GroupHead } from './build.js';
import {
  addActionChain, addBoxMap, addGroup, addPeerSet, addProfile, addSelectionSet, deleteActionChain, deleteBoxMap, deleteGroup, deletePeerSet,
  deleteProfile, deleteSet, dispatchElements, generationSet, groupElements, peerElements, peersByProfile, replaceGroupRules, setElements,
} from './render.js';

export interface DeltaStats {
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
}

const byKey = <T>([a]: readonly [string, T], [b]: readonly [string, T]): number => (a < b ? -1 : a > b ? 1 : 0);

/** Entries whose value changed: what to delete (old values) and what to add (new values). */
function elementChanges(log: ReadonlyMap<string, string | null>, now: ReadonlyMap<string, string>): { removed: [string, string][]; added: [string, string][] } {
  const removed: [string, string][] = [];
  const added: [string, string][] = [];
  for (const [key, before] of log) {
    const after = now.get(key) ?? null;
    if (before === after) continue;
    if (before !== null) removed.push([key, before]);
    if (after !== null) added.push([key, after]);
  }
  return { removed: removed.sort(byKey), added: added.sort(byKey) };
}

function boxChanges(before: readonly Box[], after: readonly Box[]): { removed: Box[]; added: Box[] } {
  const oldBoxes = new Map(before.map((box) => [boxKey(box), box]));
  const newBoxes = new Map(after.map((box) => [boxKey(box), box]));
  return {
    removed: before.filter((box) => newBoxes.get(boxKey(box))?.action !== box.action),
    added: after.filter((box) => oldBoxes.get(boxKey(box))?.action !== box.action),
  };
}

/**
 * A group that exists before and after: its boxes (when its fingerprint changed), its peer sets and elements, and
 * its rules when its default or its profiles changed. `before` is its head before, when the log has it.
 */
function changeGroup(commands: NftCommand[], group: Group, before: GroupHead | undefined, log: ChangeLog): DeltaStats {
  let elementsAdded = 0;
  let elementsDeleted = 0;
  const hadBoxes = (before ?? group).boxes.length > 0;
  const hasBoxes = group.boxes.length > 0;
  if (before !== undefined && before.fingerprint !== group.fingerprint) {
    const { removed, added } = boxChanges(before.boxes, group.boxes);
    if (!hadBoxes && hasBoxes) commands.push(...addBoxMap(group));
    else if (hadBoxes && hasBoxes) {
      if (removed.length > 0) commands.push(groupElements('delete', group.name, group.family, removed));
      if (added.length > 0) commands.push(groupElements('add', group.name, group.family, added));
    }
    elementsAdded += added.length;
    elementsDeleted += removed.length;
  }
  const oldProfiles = log.peerProfiles.get(group.name) ?? group.peerProfiles;
  const newSets = group.peerProfiles.filter((profile) => !oldProfiles.includes(profile));
  const oldSets = oldProfiles.filter((profile) => !group.peerProfiles.includes(profile));
  for (const profile of newSets) commands.push(addPeerSet(group, profile));
  const { removed, added } = elementChanges(log.peers.get(group.name) ?? new Map(), group.peers);
  // Elements of a set that goes go with it.
  const deletes = peersByProfile(removed.filter(([, profile]) => !oldSets.includes(profile)));
  for (const [profile, addresses] of [...deletes].sort(byKey)) commands.push(peerElements('delete', group.name, profile, addresses));
  for (const [profile, addresses] of [...peersByProfile(added)].sort(byKey)) commands.push(peerElements('add', group.name, profile, addresses));
  elementsAdded += added.length;
  elementsDeleted += removed.length;
  const selectorRulesChanged = before !== undefined && JSON.stringify(before.selectorRules) !== JSON.stringify(group.selectorRules);
  if ((before !== undefined && before.defaultAction !== group.defaultAction) || hadBoxes !== hasBoxes || selectorRulesChanged
    || newSets.length > 0 || oldSets.length > 0) {
    commands.push(...replaceGroupRules(group));
  }
  if (hadBoxes && !hasBoxes) commands.push(deleteBoxMap(group.name));
  for (const profile of oldSets) commands.push(deletePeerSet(group.name, profile));
  return { elementsAdded, elementsDeleted };
}

/**
 * Elements of the selection sets that exist before and after: from the element log for those that existed
 * throughout, from the members before (recorded when they were removed) for those re-created.
 */
function changeSelectionSets(commands: NftCommand[], log: ChangeLog, now: CompiledFirewall): DeltaStats {
  let elementsAdded = 0;
  let elementsDeleted = 0;
  const names = new Set([...log.selectionElements.keys(), ...log.selectionSets.keys()]);
  for (const name of [...names].sort()) {
    const set = now.selections.get(name);
    const recorded = log.selectionSets.get(name);
    if (set === undefined || recorded === null) continue;
    const before = (address: string): boolean => (recorded === undefined ? log.selectionElements.get(name)?.get(address) ?? set.addresses.has(address) : recorded.has(address));
    const candidates = recorded === undefined ? [...(log.selectionElements.get(name)?.keys() ?? [])] : [...new Set([...recorded, ...set.addresses])];
    const removed = candidates.filter((address) => before(address) && !set.addresses.has(address)).sort();
    const added = candidates.filter((address) => !before(address) && set.addresses.has(address)).sort();
    if (removed.length > 0) commands.push(setElements('delete', name, removed));
    if (added.length > 0) commands.push(setElements('add', name, added));
    elementsAdded += added.length;
    elementsDeleted += removed.length;
  }
  return { elementsAdded, elementsDeleted };
}

const sortedKeys = <T>(map: ReadonlyMap<string, T>): string[] => [...map.keys()].sort();

export function renderDelta(log: ChangeLog, now: CompiledFirewall, generation: { from: number; to: number }): { script: NftScript; stats: DeltaStats } {
  const table = { family: 'inet' as const, table: tableName };
  const commands: NftCommand[] = [
    { delete: { element: { ...table, name: generationSet, elem: [generation.from] } } },
    { add: { element: { ...table, name: generationSet, elem: [generation.to] } } },
  ];
  let elementsAdded = 0;
  let elementsDeleted = 0;
  for (const name of sortedKeys(log.actions)) {
    const action = now.actions.get(name);
    if (log.actions.get(name) === null && action !== undefined) commands.push(...addActionChain(action));
  }
  for (const name of sortedKeys(log.profiles)) {
    const profile = now.profiles.get(name);
    if (log.profiles.get(name) === null && profile !== undefined) commands.push(...addProfile(profile));
  }
  for (const name of sortedKeys(log.selectionSets)) {
    const set = now.selections.get(name);
    if (log.selectionSets.get(name) === null && set !== undefined) {
      commands.push(...addSelectionSet(set));
      elementsAdded += set.addresses.size;
    }
  }
  const selectionStats = changeSelectionSets(commands, log, now);
  elementsAdded += selectionStats.elementsAdded;
  elementsDeleted += selectionStats.elementsDeleted;
  for (const name of sortedKeys(log.groups)) {
    const group = now.groups.get(name);
    if (log.groups.get(name) === null && group !== undefined) {
      commands.push(...addGroup(group));
      elementsAdded += group.boxes.length + group.peers.size;
    }
  }
  const changedGroups = new Set([...log.groups.keys(), ...log.peers.keys(), ...log.peerProfiles.keys()]);
  for (const name of [...changedGroups].sort()) {
    const group = now.groups.get(name);
    const before = log.groups.get(name);
    // A group created in this change was rendered whole above; one removed goes with its chain, map and sets.
    if (group === undefined || before === null) continue;
    const stats = changeGroup(commands, group, before, log);
    elementsAdded += stats.elementsAdded;
    elementsDeleted += stats.elementsDeleted;
  }
  for (const name of dispatchNames) {
    const changes = log.dispatch.get(name);
    if (changes === undefined) continue;
    const { removed, added } = elementChanges(changes, now.dispatch.get(name) ?? new Map());
    if (removed.length > 0) commands.push(dispatchElements('delete', name, removed));
    if (added.length > 0) commands.push(dispatchElements('add', name, added));
    elementsAdded += added.length;
    elementsDeleted += removed.length;
  }
  for (const name of sortedKeys(log.groups)) {
    const before = log.groups.get(name);
    if (before !== null && before !== undefined && !now.groups.has(name)) {
      commands.push(...deleteGroup({ name, boxes: before.boxes, peerProfiles: log.peerProfiles.get(name) ?? [] }));
    }
  }
  for (const name of sortedKeys(log.selectionSets)) {
    if (log.selectionSets.get(name) !== null && !now.selections.has(name)) commands.push(deleteSet(name));
  }
  for (const name of sortedKeys(log.profiles)) {
    if (log.profiles.get(name) !== null && !now.profiles.has(name)) commands.push(...deleteProfile({ name }));
  }
  for (const name of sortedKeys(log.actions)) {
    const before = log.actions.get(name);
    if (before !== null && before !== undefined && !now.actions.has(name)) commands.push(deleteActionChain(before));
  }
  return { script: { nftables: commands }, stats: { elementsAdded, elementsDeleted } };
}
