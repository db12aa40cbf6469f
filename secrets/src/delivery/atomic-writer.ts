/**
 * The atomic writer of a secrets directory (after Kubernetes' projected volumes): files live in a versioned
 * directory `..v<stamp>`, `..data` is a symlink to the current one, and each user-visible name is a symlink
 * `name -> ..data/name`. The plan below is pure; `atomic-writer-fs.ts` runs it on a real directory.
 *
 * Order, and why a reader of the visible names sees the old set or the new set, never a mix:
 *  1. clean leftovers of an interrupted write (unreferenced `..v*` dirs, `..data_tmp`);
 *  2. write the new versioned dir completely;
 *  3. add symlinks for names that are new (they dangle into the old `..data`: absent, as in the old set);
 *  4. swap `..data` with one rename (the instant the whole set changes);
 *  5. remove symlinks of names that are gone (they already dangle: absent, as in the new set);
 *  6. remove the old versioned dir.
 * (Kubernetes adds new names after the swap, so a reader can briefly see the new data without a new name.)
 */
export interface ProjectedFile {
  readonly name: string;
  readonly data: Uint8Array;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface WriterState {
  /** The versioned dir `..data` points at, if any. */
  readonly dataDir: string | undefined;
  /** User-visible names (symlinks through `..data`). */
  readonly names: readonly string[];
  /** Other `..`-prefixed entries: leftovers of an interrupted write. */
  readonly leftovers: readonly string[];
}

export type WriteStep =
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'mkdir'; readonly path: string }
  | { readonly op: 'write'; readonly path: string; readonly file: ProjectedFile }
  | { readonly op: 'symlink'; readonly target: string; readonly path: string }
  | { readonly op: 'rename'; readonly from: string; readonly to: string };

export const dataLink = '..data';
export const dataLinkTemporary = '..data_tmp';
const visibleNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const versionedDirPattern = /^\.\.v[0-9a-z_.-]{1,64}$/;

export function isVersionedDirName(name: string): boolean {
  return versionedDirPattern.test(name);
}

/** Paths in steps are relative to the secrets directory. */
export function planAtomicWrite(state: WriterState, files: readonly ProjectedFile[], newDir: string): WriteStep[] {
  if (!isVersionedDirName(newDir) || newDir === state.dataDir || state.leftovers.includes(newDir)) throw new RangeError(`Invalid new versioned dir ${JSON.stringify(newDir)}`);
  const names = files.map((file) => file.name);
  for (const name of names) if (!visibleNamePattern.test(name)) throw new RangeError(`Invalid projected file name ${JSON.stringify(name)}`);
  if (new Set(names).size !== names.length) throw new RangeError('Projected file names must be unique');
  const old = new Set(state.names);
  const fresh = new Set(names);
  return [
    ...state.leftovers.map((path): WriteStep => ({ op: 'remove', path })),
    { op: 'mkdir', path: newDir },
    ...files.map((file): WriteStep => ({ op: 'write', path: `${newDir}/${file.name}`, file })),
    ...names.filter((name) => !old.has(name)).map((name): WriteStep => ({ op: 'symlink', target: `${dataLink}/${name}`, path: name })),
    { op: 'symlink', target: newDir, path: dataLinkTemporary },
    { op: 'rename', from: dataLinkTemporary, to: dataLink },
    ...state.names.filter((name) => !fresh.has(name)).map((name): WriteStep => ({ op: 'remove', path: name })),
    ...(state.dataDir === undefined ? [] : [{ op: 'remove', path: state.dataDir } as const]),
  ];
}

/** Reads a directory listing (name → symlink target or kind) into the writer's state. */
export function writerStateOf(entries: ReadonlyMap<string, { kind: 'link'; target: string } | { kind: 'dir' | 'file' }>): WriterState {
  const data = entries.get(dataLink);
  const dataDir = data?.kind === 'link' && isVersionedDirName(data.target) ? data.target : undefined;
  const names: string[] = [];
  const leftovers: string[] = [];
  for (const [name, entry] of entries) {
    if (name === dataLink) continue;
    if (name.startsWith('..')) {
      if (name !== dataDir) leftovers.push(name);
    } else if (entry.kind === 'link' && entry.target === `${dataLink}/${name}`) {
      names.push(name);
    } else {
      leftovers.push(name);
    }
  }
  return { dataDir, names: names.sort(), leftovers: leftovers.sort() };
}
