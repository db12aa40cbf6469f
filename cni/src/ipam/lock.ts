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

/**
 * Waiters of this process per lock path, first come first served. Calls served by one berthd queue here rather than
 * poll the flock against each other (a flock is per open file, so they would contend like separate processes).
 */
const localTails = new Map<string, Promise<void>>();

async function takeLocalTurn(path: string): Promise<() => void> {
  const previous = localTails.get(path) ?? Promise.resolve();
  let finish: () => void = () => undefined;
  const mine = new Promise<void>((resolve) => { finish = resolve; });
  const tail = previous.then(() => mine);
  localTails.set(path, tail);
  await previous;
  return () => {
    finish();
    if (localTails.get(path) === tail) localTails.delete(path);
  };
}

/**
 * Takes this process's turn for `path`, then polls `tryLock` (other processes) with bounded exponential backoff until
 * it succeeds or `lockWaitMsMax` passes.
 */
export async function acquireLock(path: string, tryLock: TryLock, wait: LockWait = defaultLockWait): Promise<() => void> {
  if (!(wait.lockWaitMsMax > 0 && wait.pollMsMin > 0 && wait.pollMsMax >= wait.pollMsMin)) {
    throw new RangeError(`acquireLock: invalid wait limits ${JSON.stringify(wait)}`);
  }
  const endTurn = await takeLocalTurn(path);
  try {
    const release = await pollLock(path, tryLock, wait);
    return () => {
      try {
        release();
      } finally {
        endTurn();
      }
    };
  } catch (error) {
    endTurn();
    throw error;
  }
}

async function pollLock(path: string, tryLock: TryLock, wait: LockWait): Promise<() => void> {
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
