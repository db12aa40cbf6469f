/**
 * The selections: for each distinct label selector of the rules in use, the endpoints it picks, their addresses
 * by family (the elements of its shared selection set) and the groups that use it. Membership changes and sets
 * appearing or going are recorded in the change log.
 */
import type { Address, Family } from '../model/address.js';
import type { Endpoint } from '../model/types.js';
import type { NamespaceLabels } from '../evaluate/match.js';
import { assert } from '../errors.js';
import { recordFirst, type ChangeLog } from './change-log.js';
import { selectionKey, slotSelects, type SelectorSlot } from './group.js';
import type { SelectionSet } from './ir.js';
import { selectionSetName } from './names.js';

export interface SelectionMember {
  readonly endpoint: Endpoint;
  readonly addresses: readonly Address[];
}

/** The endpoints one distinct selector picks, and the groups whose rules use it. */
export interface Selection<M extends SelectionMember = SelectionMember> {
  readonly key: string;
  readonly slot: SelectorSlot;
  readonly selected: Set<M>;
  /** The selected endpoints' addresses by family: the selection sets' elements. */
  readonly addresses: Map<Family, Set<string>>;
  /** Selectors-mode groups using the selection set of each family. */
  readonly setReferences: Map<Family, number>;
  readonly setNames: Readonly<Record<Family, string>>;
  readonly groups: Set<string>;
}

export class Selections<M extends SelectionMember> {
  readonly #byKey = new Map<string, Selection<M>>();
  /**
   * Selections whose last group went during the current operation: dropped at its end unless a group took them
   * up again (a rebuilt group usually does), so they are not recomputed over every endpoint.
   */
  readonly #unused = new Set<Selection<M>>();
  readonly #log: () => ChangeLog;

  constructor(log: () => ChangeLog) {
    this.#log = log;
  }

  get size(): number {
    return this.#byKey.size;
  }

  named(key: string): Selection<M> {
    const selection = this.#byKey.get(key);
    assert(selection !== undefined, `selection ${key} exists`);
    return selection;
  }

  /** The selection of a selector, computed over `members` when it is new. */
  obtain(slot: SelectorSlot, members: Iterable<M>, namespaceLabels: NamespaceLabels): Selection<M> {
    const key = selectionKey(slot);
    let selection = this.#byKey.get(key);
    if (selection === undefined) {
      selection = {
        key, slot, selected: new Set(), addresses: new Map(), setReferences: new Map(), groups: new Set(),
        setNames: { 4: selectionSetName(4, key), 6: selectionSetName(6, key) },
      };
      for (const member of members) if (slotSelects(slot, member.endpoint, namespaceLabels)) this.#select(selection, member, true);
      this.#byKey.set(key, selection);
    }
    return selection;
  }

  /** A new endpoint: into every selection that picks it. */
  enter(member: M, namespaceLabels: NamespaceLabels): void {
    for (const selection of this.#byKey.values()) if (slotSelects(selection.slot, member.endpoint, namespaceLabels)) this.#select(selection, member, true);
  }

  /** An endpoint that goes: out of every selection. */
  leave(member: M): void {
    for (const selection of this.#byKey.values()) if (selection.selected.has(member)) this.#select(selection, member, false);
  }

  *picking(member: M): Generator<Selection<M>> {
    for (const selection of this.#byKey.values()) if (selection.selected.has(member)) yield selection;
  }

  /** Adds the endpoint to a selection or takes it out, keeping its sets' elements and the log in step. */
  #select(selection: Selection<M>, member: M, selected: boolean): void {
    if (selected) selection.selected.add(member);
    else selection.selected.delete(member);
    for (const [index, address] of member.addresses.entries()) {
      const text = member.endpoint.ips[index] as string;
      let addresses = selection.addresses.get(address.family);
      if (addresses === undefined) selection.addresses.set(address.family, addresses = new Set());
      if ((selection.setReferences.get(address.family) ?? 0) > 0) {
        const name = selection.setNames[address.family];
        const elements = this.#log().selectionElements;
        let log = elements.get(name);
        if (log === undefined) elements.set(name, log = new Map());
        recordFirst(log, text, addresses.has(text));
      }
      if (selected) addresses.add(text);
      else addresses.delete(text);
    }
  }

  acquireSet(selection: Selection<M>, family: Family): void {
    const references = selection.setReferences.get(family) ?? 0;
    if (references === 0) recordFirst(this.#log().selectionSets, selection.setNames[family], null);
    selection.setReferences.set(family, references + 1);
  }

  releaseSet(selection: Selection<M>, family: Family): void {
    const references = (selection.setReferences.get(family) ?? 0) - 1;
    assert(references >= 0, `selection set of ${selection.key} is referenced`);
    selection.setReferences.set(family, references);
    if (references > 0) return;
    const name = selection.setNames[family];
    const log = this.#log();
    if (log.selectionSets.has(name)) return;
    // It existed before this change: remember its members as they were, for a re-creation to be diffed against.
    const members = new Set(selection.addresses.get(family) ?? []);
    for (const [address, member] of log.selectionElements.get(name) ?? []) {
      if (member) members.add(address);
      else members.delete(address);
    }
    log.selectionSets.set(name, members);
    log.selectionElements.delete(name);
  }

  markUnused(selection: Selection<M>): void {
    this.#unused.add(selection);
  }

  dropUnused(): void {
    for (const selection of this.#unused) if (selection.groups.size === 0) this.#byKey.delete(selection.key);
    this.#unused.clear();
  }

  /** The selection sets in use (the compiled table's). */
  sets(): Map<string, SelectionSet> {
    const sets = new Map<string, SelectionSet>();
    for (const selection of this.#byKey.values()) {
      for (const [family, references] of selection.setReferences) {
        if (references === 0) continue;
        const name = selection.setNames[family];
        sets.set(name, { name, family, addresses: selection.addresses.get(family) ?? new Set() });
      }
    }
    return sets;
  }
}
