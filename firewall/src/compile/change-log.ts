/**
 * What changed in the compiled table since the last `take`: for every object touched, its value before the
 * first touch. Comparing that with the current value gives the delta to render (delta.ts); an object changed
 * and changed back renders as nothing.
 */
import type { ActionChain, DispatchName, Profile } from './ir.js';
import type { GroupHead } from './build.js';

export interface ChangeLog {
  /** Group name → its head before (null: it did not exist). */
  readonly groups: Map<string, GroupHead | null>;
  /** Group name → address → profile before (null: no element). Only for groups that existed before. */
  readonly peers: Map<string, Map<string, string | null>>;
  /** Group name → the profiles its peers used before (sorted). Only for groups that existed before. */
  readonly peerProfiles: Map<string, readonly string[]>;
  readonly dispatch: Map<DispatchName, Map<string, string | null>>;
  /**
   * Selection set name → null when it did not exist before; its members before when it existed and was removed
   * (possibly re-created since). Sets that existed throughout are not here.
   */
  readonly selectionSets: Map<string, ReadonlySet<string> | null>;
  /** Selection set name → address → member before. Only meaningful for sets that existed throughout. */
  readonly selectionElements: Map<string, Map<string, boolean>>;
  readonly profiles: Map<string, Profile | null>;
  readonly actions: Map<string, ActionChain | null>;
}

export function emptyChangeLog(): ChangeLog {
  return {
    groups: new Map(), peers: new Map(), peerProfiles: new Map(), dispatch: new Map(), selectionSets: new Map(), selectionElements: new Map(),
    profiles: new Map(), actions: new Map(),
  };
}

/** Records `before` under `key` unless an earlier value is recorded already. */
export function recordFirst<K, V>(map: Map<K, V>, key: K, before: V): void {
  if (!map.has(key)) map.set(key, before);
}
