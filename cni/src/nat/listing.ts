import type { NftExpression, NftMapElement, NftOutput, NftSetElement } from '@berth/nftables-napi';
import type { OwnedElement } from './elements.js';
import type { OwnedTableSpec } from './table-spec.js';

/** What `list table` shows of an owned table: which of its sets exist, and their elements. */
export interface OwnedListing {
  readonly sets: ReadonlySet<string>;
  readonly elements: readonly OwnedElement[];
}

function isElemWrapper(value: unknown): value is { elem: { val: NftExpression; comment?: string } } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'elem' in value;
}

/** A listed set element: the key and the comment (owner tag), "" for an element without comment. */
function readKey(item: NftSetElement): { key: NftExpression; owner: string } {
  if (isElemWrapper(item)) return { key: item.elem.val, owner: item.elem.comment ?? '' };
  return { key: item, owner: '' };
}

/** Reads the spec's sets and maps (and only those) out of a listing of its table. */
export function readOwnedListing(spec: OwnedTableSpec, output: NftOutput): OwnedListing {
  const sets = new Set<string>();
  const elements: OwnedElement[] = [];
  for (const object of output.nftables) {
    const listed = 'set' in object ? object.set : 'map' in object ? object.map : undefined;
    if (listed === undefined || listed.table !== spec.name || listed.family !== spec.family || !spec.sets.includes(listed.name)) continue;
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
