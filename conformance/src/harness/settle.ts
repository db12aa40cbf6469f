import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Reads until `done` holds of the reading or `timeoutMs` has passed, and returns the last reading (the caller's
 * assertion shows it): for state the kernel or a daemon settles asynchronously, such as a dead netns's veth pair.
 */
export async function settle<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await sleep(pollMs);
    value = await read();
  }
  return value;
}
