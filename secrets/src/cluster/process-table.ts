import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { basename } from 'node:path';

/**
 * A process seen in /proc: pid, argv (NUL-split cmdline), its executable, real uid and start time (clock ticks since
 * boot, field 22 of /proc/PID/stat). pid plus start time names one process for its whole life: a pid reused by a
 * later process has another start time.
 */
export interface ProcessEntry {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly exe: string | undefined;
  readonly uid: number | undefined;
  readonly startTime: string;
}

/** Reads a live process; undefined once it is gone or a zombie (whose cmdline is empty). */
export async function readProcess(pid: number): Promise<ProcessEntry | undefined> {
  const [cmdline, stat, status, exe] = await Promise.all([
    readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined),
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined),
    readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined),
    readlink(`/proc/${pid}/exe`).catch(() => undefined),
  ]);
  if (cmdline === undefined || stat === undefined || cmdline.length === 0) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined;
  const uidText = /^Uid:\s+(\d+)/m.exec(status ?? '')?.[1];
  return { pid, argv: cmdline.replace(/\0$/, '').split('\0'), exe, uid: uidText === undefined ? undefined : Number(uidText), startTime: fields[19] ?? '' };
}

/** Reads a live process's argv; undefined once it is gone or a zombie. */
export async function readProcessArgv(pid: number): Promise<readonly string[] | undefined> {
  return (await readProcess(pid))?.argv;
}

/**
 * Every live process called etcd whose command line names this data dir. The data dir is what must never be shared,
 * so it is the search key: this finds orphans even when a pid file was lost. Anyone can start a process with such a
 * command line, so this alone never decides whom to adopt or signal: see `findOwnEtcdProcesses`.
 */
export async function findEtcdProcesses(dataDir: string): Promise<ProcessEntry[]> {
  const found: ProcessEntry[] = [];
  const names = await readdir('/proc').catch(() => [] as string[]);
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const entry = await readProcess(pid);
    if (entry === undefined || entry.argv[0] === undefined || basename(entry.argv[0]) !== 'etcd') continue;
    if (entry.argv.includes(`--data-dir=${dataDir}`)) found.push(entry);
  }
  return found;
}

/** The process runs the configured etcd binary (by /proc/PID/exe, not by name) as this process's user (root). */
export function isOwnEtcd(entry: ProcessEntry, binary: string): boolean {
  return entry.exe === binary && entry.uid === (process.geteuid?.() ?? 0);
}

/** The etcd members on this data dir that are really ours; impostors (another binary, another uid) are left alone. */
export async function findOwnEtcdProcesses(dataDir: string, binary: string): Promise<ProcessEntry[]> {
  const resolved = await realpath(binary).catch(() => binary);
  return (await findEtcdProcesses(dataDir)).filter((entry) => isOwnEtcd(entry, resolved));
}

/** Whether the pid still names the same process (same start time): the check made right before any signal. */
export async function isSameProcess(entry: Pick<ProcessEntry, 'pid' | 'startTime'>): Promise<boolean> {
  const now = await readProcess(entry.pid);
  return now !== undefined && now.startTime === entry.startTime;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
