import { CniCode, CniError } from '../errors.js';

/**
 * The lock port: try once to take an exclusive lock on a file (created if missing) without blocking; the returned
 * function releases it. The real one is `tryLockFile` from @berth/netns-napi (flock LOCK_EX|LOCK_NB, released on
 * close or process death, so a killed holder never wedges the store).
 */
export type TryLock = (path: string) => (() => void) | null;

export interface LockWait {
  /** Give up (code 11, try again later) after this long. */
  readonly lockWaitMsMax: number;
  /** First poll interval; doubles up to `pollMsMax`. */
  readonly pollMsMin: number;
  readonly pollMsMax: number;
}

export const defaultLockWait: LockWait = { lockWaitMsMax: 30_000, pollMsMin: 1, pollMsMax: 20 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `tryLock` with bounded exponential backoff until it succeeds or `lockWaitMsMax` passes. */
export async function acquireLock(path: string, tryLock: TryLock, wait: LockWait = defaultLockWait): Promise<() => void> {
  if (!(wait.lockWaitMsMax > 0 && wait.pollMsMin > 0 && wait.pollMsMax >= wait.pollMsMin)) {
    throw new RangeError(`acquireLock: invalid wait limits ${JSON.stringify(wait)}`);
  }
  const deadline = Date.now() + wait.lockWaitMsMax;
  let pollMs = wait.pollMsMin;
  for (;;) {
    let release: (() => void) | null;
    try {
      release = tryLock(path);
    } catch (error) {
      throw new CniError(CniCode.IoFailure, `Cannot lock ${path}: ${(error as Error).message}`);
    }
    if (release !== null) return release;
    if (Date.now() >= deadline) {
      throw new CniError(CniCode.TryAgainLater, `Cannot lock ${path}: still held by another process after ${wait.lockWaitMsMax} ms`);
    }
    // Jitter keeps 16 waiters from polling in lockstep.
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())) * (0.5 + Math.random()));
    pollMs = Math.min(pollMs * 2, wait.pollMsMax);
  }
}
