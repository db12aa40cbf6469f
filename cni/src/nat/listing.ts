import type { NftExpression, NftMapElement, NftOutput, NftSetElement } from '@berth/nftables-napi';
import type { NatElement } from './elements.js';
import { allNatSets, natTable, type NatSetName } from './ruleset.js';

/** What `list table inet berth-nat` shows: which of Berth's sets exist, and their elements. */
export interface NatListing {
  readonly sets: ReadonlySet<NatSetName>;
  readonly elements: readonly NatElement[];
}

function isNatSet(name: string): name is NatSetName {
  return (allNatSets as readonly string[]).includes(name);
}

function isElemWrapper(value: unknown): value is { elem: { val: NftExpression; comment?: string } } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'elem' in value;
}

/** A listed set element: the key and the comment (owner tag), "" for an element without comment. */
function readKey(item: NftSetElement): { key: NftExpression; owner: string } {
  if (isElemWrapper(item)) return { key: item.elem.val, owner: item.elem.comment ?? '' };
  return { key: item, owner: '' };
}

/** Reads Berth's sets and maps (and only those) out of a listing of the berth-nat table. */
export function readNatListing(output: NftOutput): NatListing {
  const sets = new Set<NatSetName>();
  const elements: NatElement[] = [];
  for (const object of output.nftables) {
    const listed = 'set' in object ? object.set : 'map' in object ? object.map : undefined;
    if (listed === undefined || listed.table !== natTable || !isNatSet(listed.name)) continue;
    const set = listed.name;
    sets.add(set);
    const isMap = 'map' in object;
    for (const item of listed.elem ?? []) {
      if (isMap) {
        const [keyItem, value] = item as NftMapElement;
        elements.push({ set, ...readKey(keyItem), value });
      } else {
        elements.push({ set, ...readKey(item as NftSetElement) });
      }
    }
  }
  return { sets, elements };
}
