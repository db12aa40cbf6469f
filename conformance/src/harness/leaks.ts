import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * What tests could leave behind on the host: named netns, root-netns links and nft tables, Berth mounts, and files
 * in Berth's default state root (every test sets its own BERTH_ROOT; a file there is a test, or a process it
 * started, that fell back to the default).
 */
export interface HostState {
  readonly namespaces: readonly string[];
  readonly links: readonly string[];
  readonly nftTables: readonly string[];
  readonly mounts: readonly string[];
  readonly defaultRootFiles: readonly string[];
}

const defaultStateRoot = '/var/lib/berth';

const berthMountPattern = /^(\/run\/berth|\/var\/lib\/berth|\/tmp\/[^/]*berth|\/tmp\/bt-)/;

export async function snapshotHostState(): Promise<HostState> {
  const [namespaces, links, nftTables, mounts, defaultRootFiles] = await Promise.all([
    readdir('/run/netns').catch(() => [] as string[]),
    run('ip', ['-o', 'link', 'show']).then(({ stdout }) =>
      stdout.split('\n').filter(Boolean).map((line) => (line.split(': ')[1] ?? '').split('@')[0] ?? '')),
    run('nft', ['list', 'tables']).then(({ stdout }) => stdout.split('\n').filter(Boolean), () => []),
    readFile('/proc/self/mounts', 'utf8').then((text) =>
      text.split('\n').map((line) => line.split(' ')[1] ?? '').filter((path) => berthMountPattern.test(path))),
    readdir(defaultStateRoot, { recursive: true }).then((names) => names.map((name) => `${defaultStateRoot}/${name}`), () => [] as string[]),
  ]);
  return { namespaces: namespaces.sort(), links: links.sort(), nftTables: nftTables.sort(), mounts: mounts.sort(), defaultRootFiles: defaultRootFiles.sort() };
}

/** Everything present after the suite that was not there before it, described for a person. */
export function diffHostState(before: HostState, after: HostState): string[] {
  const added = (kind: string, a: readonly string[], b: readonly string[]): string[] =>
    b.filter((item) => !a.includes(item)).map((item) => `${kind} ${item}`);
  return [
    ...added('netns', before.namespaces, after.namespaces),
    ...added('link', before.links, after.links),
    ...added('nft', before.nftTables, after.nftTables),
    ...added('mount', before.mounts, after.mounts),
    ...added('file', before.defaultRootFiles, after.defaultRootFiles),
  ];
}
