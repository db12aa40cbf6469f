import { readFileSync, statSync } from 'node:fs';

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function processStartTicks(pid: number): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** True while the process that had this pid and start time still runs (a reused pid is another process). */
export function processAlive(pid: number, startTicks: string): boolean {
  return processStartTicks(pid) === startTicks;
}

/** `dev:ino` of a namespace file, or undefined when it cannot be read. */
export function namespaceKey(path: string): string | undefined {
  try {
    const stat = statSync(path, { bigint: true });
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

function parentOf(pid: number | 'self'): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((text) => text.startsWith('PPid:'));
    const parent = Number(line?.slice('PPid:'.length).trim());
    return Number.isSafeInteger(parent) && parent > 0 ? parent : undefined;
  } catch {
    return undefined;
  }
}

const ancestorsMax = 16;

/** The nearest ancestor of this process whose mount namespace is `key` (`dev:ino`), as a /proc path to that ns. */
export function ancestorMountNamespace(key: string): string | undefined {
  let pid = parentOf('self');
  for (let depth = 0; pid !== undefined && depth < ancestorsMax; depth += 1) {
    const path = `/proc/${pid}/ns/mnt`;
    if (namespaceKey(path) === key) return path;
    pid = parentOf(pid);
  }
  return undefined;
}
