import { readFileSync, statSync } from 'node:fs';

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
