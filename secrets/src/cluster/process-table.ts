import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';

/** A process seen in /proc: its pid and argv (NUL-split cmdline). */
export interface ProcessEntry {
  readonly pid: number;
  readonly argv: readonly string[];
}

/** Reads a live process's argv; undefined once it is gone or a zombie (whose cmdline is empty). */
export async function readProcessArgv(pid: number): Promise<readonly string[] | undefined> {
  const [cmdline, stat] = await Promise.all([
    readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined),
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined),
  ]);
  if (cmdline === undefined || stat === undefined || cmdline.length === 0) return undefined;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return undefined;
  return cmdline.replace(/\0$/, '').split('\0');
}

/**
 * Every live etcd process whose command line names this data dir. The data dir is what must never be shared, so it
 * is the search key: this finds orphans even when a pid file was lost.
 */
export async function findEtcdProcesses(dataDir: string): Promise<ProcessEntry[]> {
  const found: ProcessEntry[] = [];
  const names = await readdir('/proc').catch(() => [] as string[]);
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const argv = await readProcessArgv(pid);
    if (argv === undefined || argv[0] === undefined || basename(argv[0]) !== 'etcd') continue;
    if (argv.includes(`--data-dir=${dataDir}`)) found.push({ pid, argv });
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
