import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Files read per scan, and bytes per file: bounds for a scan of test state dirs. */
export const scanFilesMax = 50_000;
export const scanFileBytesMax = 256 * 1024 * 1024;

export interface PlaintextHit {
  readonly where: string;
  readonly needle: number;
}

/**
 * Looks for each needle (and its base64 and hex forms) in every regular file under `roots` (etcd WAL and snapshots,
 * state, logs) and in captured texts. Returns where each was found, naming needles by index only.
 */
export async function scanForPlaintext(options: { roots: readonly string[]; texts: ReadonlyMap<string, string>; needles: readonly Buffer[]; skip?: (path: string) => boolean }): Promise<PlaintextHit[]> {
  const forms = options.needles.map((needle) => [needle, Buffer.from(needle.toString('base64')), Buffer.from(needle.toString('hex'))]);
  const hits: PlaintextHit[] = [];
  const check = (where: string, bytes: Buffer): void => {
    forms.forEach((variants, needle) => {
      if (variants.some((variant) => variant.length > 0 && bytes.includes(variant))) hits.push({ where, needle });
    });
  };
  let files = 0;
  const walk = async (path: string): Promise<void> => {
    if (options.skip?.(path) === true) return;
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) return;
    if (info.isDirectory()) {
      for (const name of await readdir(path)) await walk(join(path, name));
    } else if (info.isFile() && info.size <= scanFileBytesMax) {
      files += 1;
      if (files > scanFilesMax) throw new Error(`plaintext scan: more than ${scanFilesMax} files`);
      check(path, await readFile(path));
    }
  };
  for (const root of options.roots) await walk(root);
  for (const [where, text] of options.texts) check(where, Buffer.from(text));
  return hits;
}
