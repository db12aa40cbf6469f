import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetnsError, toNetnsError } from './errors.js';
import { native } from './native.js';

/** Releases a file lock; calling it twice is harmless. */
export type ReleaseLock = () => void;

/**
 * Takes an exclusive flock on `path` (created 0600 if missing) without waiting: the release function, or null when
 * another holder has it. The kernel releases the lock when the holder closes it or dies, even by SIGKILL.
 */
export function tryLockFile(path: string): ReleaseLock | null {
  let fd: number;
  try {
    fd = openSync(path, 'a+', 0o600);
  } catch (error) {
    throw toNetnsError(error, `open lock file ${path}`, path);
  }
  let taken = false;
  try {
    taken = native.tryFlockExclusive(fd);
  } catch (error) {
    closeSync(fd);
    throw toNetnsError(error, `lock ${path}`, path);
  }
  if (!taken) {
    closeSync(fd);
    return null;
  }
  let open = true;
  return () => {
    if (open) closeSync(fd);
    open = false;
  };
}

export interface LockWait {
  /** Give up after this long; a lock held longer than this by a live process is a bug or a hung peer. */
  readonly waitMsMax: number;
  readonly pollMs?: number;
}

/** Waits (asynchronously, polling) for an exclusive flock on `path`; throws NetnsError `ETIMEDOUT` past `waitMsMax`. */
export async function lockFile(path: string, wait: LockWait): Promise<ReleaseLock> {
  const pollMs = wait.pollMs ?? 5;
  const deadline = Date.now() + wait.waitMsMax;
  for (;;) {
    const release = tryLockFile(path);
    if (release !== null) return release;
    if (Date.now() >= deadline) {
      throw new NetnsError('ETIMEDOUT', 'flock', path, `Cannot lock ${path}: still held by another process after ${wait.waitMsMax} ms`);
    }
    await sleep(pollMs);
  }
}
