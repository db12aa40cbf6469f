import type { NftListed, NftOutput, NftOutputObject } from './schema.js';

/**
 * Parses what libnftables printed with JSON output on. Each list command prints one JSON document on its own
 * line, each starting with a metainfo object; they are merged into one document with the first metainfo kept.
 * No output (a run that only changed things) gives `{ nftables: [] }`. Throws an Error on anything else.
 */
export function parseOutput(text: string): NftOutput {
  const objects: NftOutputObject[] = [];
  let sawMetainfo = false;
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue;
    const document: unknown = JSON.parse(line);
    const items = typeof document === 'object' && document !== null && 'nftables' in document
      ? document.nftables
      : undefined;
    if (!Array.isArray(items)) throw new Error(`not a libnftables JSON document: ${line.slice(0, 80)}`);
    for (const item of items as NftOutputObject[]) {
      if ('metainfo' in item) {
        if (sawMetainfo) continue;
        sawMetainfo = true;
      }
      objects.push(item);
    }
  }
  return { nftables: objects };
}

/** The listed objects of one kind, in output order: `listed(nft.run(listSet), 'set')[0]?.elem`. */
export function listed<K extends keyof NftListed>(output: NftOutput, kind: K): NftListed[K][] {
  const found: NftListed[K][] = [];
  for (const object of output.nftables) {
    if (kind in object) found.push((object as { readonly [P in K]: NftListed[K] })[kind]);
  }
  return found;
}
