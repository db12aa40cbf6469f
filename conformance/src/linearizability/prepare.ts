import type { Operation } from './history.js';

/** One operation as the search sees it: the original, with a return time that may be earlier than recorded. */
export interface PreparedOperation {
  readonly operation: Operation;
  readonly callMs: number;
  readonly returnMs: number;
}

/**
 * Shrinks one key's history without changing its verdict, as etcd's robustness tests do before calling Porcupine.
 * Unknown outcomes never return, so each stays a candidate at every later step of the search and a few dozen of them
 * make it explode; three exact rewrites tame most:
 *
 * 1. An unknown get is dropped: it has no effect, and "never" is always a legal place for it.
 * 2. An unknown put or cas whose value is written by no other operation and is later observed (a get returns it, or
 *    a cas succeeds expecting it) must have taken effect before the first observer returned: that time becomes its
 *    return time. Every linearization already places it there, so the set of linearizations does not change.
 * 3. An unknown put whose value is written by no other operation and never observed (no get returns it, no cas
 *    expects it) is dropped, but only if no operation on the key can succeed *because* the key holds some other
 *    value: a known cas that failed, or a known delete that reports the key existed. Without those, while the key
 *    holds that value only writes and unknown outcomes can be linearized, and a write hides the value again, so a
 *    linearization with the put becomes one without it (an unknown cas that failed against the value is "never").
 */
export function preparePartition(operations: readonly Operation[]): PreparedOperation[] {
  const writers = new Map<string, number>();
  const firstObservedMs = new Map<string, number>();
  const expectedValues = new Set<string>();
  let valueMismatchCanSucceed = false;
  for (const { input, output, returnMs } of operations) {
    if (input.kind === 'put' || input.kind === 'cas') writers.set(input.value, (writers.get(input.value) ?? 0) + 1);
    if (input.kind === 'cas' && input.expected !== null) expectedValues.add(input.expected);
    if (output.kind !== 'ok') continue;
    const observed = input.kind === 'get' ? output.value ?? null
      : input.kind === 'cas' && output.succeeded === true ? input.expected : null;
    if (observed !== null) firstObservedMs.set(observed, Math.min(firstObservedMs.get(observed) ?? Infinity, returnMs));
    if (input.kind === 'cas' && output.succeeded === false) valueMismatchCanSucceed = true;
    if (input.kind === 'delete' && output.succeeded === true) valueMismatchCanSucceed = true;
  }
  const prepared: PreparedOperation[] = [];
  for (const operation of operations) {
    const { input, output, callMs } = operation;
    if (output.kind === 'ok') {
      prepared.push({ operation, callMs, returnMs: operation.returnMs });
      continue;
    }
    if (input.kind === 'get') continue;
    const uniqueValue = (input.kind === 'put' || input.kind === 'cas') && writers.get(input.value) === 1 ? input.value : null;
    const observedMs = uniqueValue === null ? undefined : firstObservedMs.get(uniqueValue);
    if (observedMs !== undefined && observedMs >= callMs) {
      prepared.push({ operation, callMs, returnMs: observedMs });
      continue;
    }
    const unobserved = uniqueValue !== null && observedMs === undefined && !expectedValues.has(uniqueValue);
    if (input.kind === 'put' && unobserved && !valueMismatchCanSucceed) continue;
    prepared.push({ operation, callMs, returnMs: Infinity });
  }
  return prepared;
}
