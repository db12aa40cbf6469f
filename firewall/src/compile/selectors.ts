/**
 * Selectors mode: the peers of a group picked by label selectors only are matched through shared selection sets
 * (one per distinct selector), with one chain rule per combination of selectors a peer can be in. A peer's
 * verdicts depend only on which selectors pick it (no ipBlock, no egress named port resolving on the peer), so
 * the rules follow from the policies alone and registering a pod only touches the selection sets that pick it.
 *
 * Rules are ordered most specific first (more selectors, then by bitmask), so a peer's first matching rule is
 * the one of its exact combination; a combination whose kept proper subsets all give the same profile is left
 * out (a peer in it matches one of those and gets the same verdicts). Singletons are always kept.
 */
import type { BuiltProfile, RuleDecisions } from './decisions.js';
import { isSelectorSlot, selectionKey, type SelectorSlot, type Slot } from './group.js';

/** More distinct selectors than this in a group's rules: exact mode (the rules grow as 2^n). */
export const selectorSlotsMax = 3;

/** The distinct selection keys of the slots when selectors mode applies to them, else null (exact mode). */
export function selectorVariables(slots: readonly Slot[], egressPortNames: readonly string[]): string[] | null {
  if (egressPortNames.length > 0 || !slots.every(isSelectorSlot)) return null;
  const keys = [...new Set(slots.map((slot) => selectionKey(slot as SelectorSlot)))].sort();
  return keys.length <= selectorSlotsMax ? keys : null;
}

function popcount(mask: number): number {
  let count = 0;
  for (let rest = mask; rest !== 0; rest &= rest - 1) count += 1;
  return count;
}

export interface SelectorRule {
  /** Indexes into the variables. */
  readonly variables: readonly number[];
  readonly profile: BuiltProfile;
}

export function selectorRules(decisions: RuleDecisions, variables: readonly string[]): SelectorRule[] {
  const variableOf = decisions.slots.map((slot) => variables.indexOf(selectionKey(slot as SelectorSlot)));
  const masks = Array.from({ length: 2 ** variables.length - 1 }, (_, position) => position + 1);
  const kept = new Map<number, BuiltProfile>();
  // Decide smaller combinations first: a combination is dropped when its kept proper subsets all agree with it.
  for (const mask of [...masks].sort((a, b) => popcount(a) - popcount(b) || a - b)) {
    const bits = variableOf.map((variable) => (mask & (1 << variable)) !== 0);
    const profile = decisions.profile(bits, null);
    const subsets = [...kept].filter(([other]) => other !== mask && (other & mask) === other);
    if (popcount(mask) > 1 && subsets.every(([, other]) => other.profile.name === profile.profile.name)) continue;
    kept.set(mask, profile);
  }
  return [...kept].sort(([a], [b]) => popcount(b) - popcount(a) || a - b).map(([mask, profile]) => ({
    variables: variables.map((_key, position) => position).filter((position) => (mask & (1 << position)) !== 0),
    profile,
  }));
}
