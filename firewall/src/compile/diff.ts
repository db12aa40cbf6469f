/**
 * renderDiff(): the one transaction that turns a table holding `before` into one holding `after`, made of
 * element adds and deletes (plus chains and maps for groups and actions that appear or disappear).
 *
 * Order inside the transaction matters to the kernel's reference counting, not to packets (they see the
 * old or the new state, never a mix): new action chains before the elements that jump to them; new groups
 * before the dispatch entries that jump to them; dispatch entries gone before the groups they pointed to;
 * group maps gone before the action chains their elements pointed to. Within a map, deletes come before adds
 * so a box can be split or merged in place. A group whose default verdict changes gets its two rules replaced
 * (flush + add) in the same transaction.
 */
import type { NftCommand, NftScript } from '@berth/nftables-napi';
import { boxKey, dispatchNames, tableName, type Box, type CompiledFirewall } from './ir.js';
import {
  addActionChain, addGroup, deleteActionChain, deleteGroup, dispatchElements, generationSet, groupElements, replaceGroupRules, sortedByName,
  sortedEntries,
} from './render.js';

function boxesByKey(boxes: readonly Box[]): Map<string, Box> {
  return new Map(boxes.map((box) => [boxKey(box), box]));
}

export interface DiffStats {
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
}

export function renderDiff(before: CompiledFirewall, after: CompiledFirewall, generation: { from: number; to: number }): { script: NftScript; stats: DiffStats } {
  const table = { family: 'inet' as const, table: tableName };
  const commands: NftCommand[] = [
    { delete: { element: { ...table, name: generationSet, elem: [generation.from] } } },
    { add: { element: { ...table, name: generationSet, elem: [generation.to] } } },
  ];
  let elementsAdded = 0;
  let elementsDeleted = 0;
  for (const action of sortedByName(after.actions.values())) {
    if (!before.actions.has(action.name)) commands.push(...addActionChain(action));
  }
  for (const group of sortedByName(after.groups.values())) {
    const old = before.groups.get(group.name);
    if (old === undefined) {
      commands.push(...addGroup(group));
      elementsAdded += group.boxes.length;
      continue;
    }
    // Equal fingerprints mean equal content: skip without reading (or decoding) the boxes.
    if (old === group || old.fingerprint === group.fingerprint) continue;
    const oldBoxes = boxesByKey(old.boxes);
    const newBoxes = boxesByKey(group.boxes);
    const removed = old.boxes.filter((box) => newBoxes.get(boxKey(box))?.action !== box.action);
    const added = group.boxes.filter((box) => oldBoxes.get(boxKey(box))?.action !== box.action);
    if (removed.length > 0) commands.push(groupElements('delete', group.name, group.family, removed));
    if (added.length > 0) commands.push(groupElements('add', group.name, group.family, added));
    if (old.defaultAction !== group.defaultAction) commands.push(...replaceGroupRules(group));
    elementsAdded += added.length;
    elementsDeleted += removed.length;
  }
  for (const name of dispatchNames) {
    const oldMap = before.dispatch.get(name) ?? new Map<string, string>();
    const newMap = after.dispatch.get(name) ?? new Map<string, string>();
    const removed = sortedEntries(oldMap).filter(([address, group]) => newMap.get(address) !== group);
    const added = sortedEntries(newMap).filter(([address, group]) => oldMap.get(address) !== group);
    if (removed.length > 0) commands.push(dispatchElements('delete', name, removed));
    if (added.length > 0) commands.push(dispatchElements('add', name, added));
    elementsAdded += added.length;
    elementsDeleted += removed.length;
  }
  for (const group of sortedByName(before.groups.values())) {
    if (!after.groups.has(group.name)) commands.push(...deleteGroup(group));
  }
  for (const action of sortedByName(before.actions.values())) {
    if (!after.actions.has(action.name)) commands.push(deleteActionChain(action));
  }
  return { script: { nftables: commands }, stats: { elementsAdded, elementsDeleted } };
}
