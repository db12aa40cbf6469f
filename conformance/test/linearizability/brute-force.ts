import type { Operation } from '../../src/linearizability/history.js';

const operationsMax = 9;

/**
 * The definition, by exhaustion and written apart from the checker: is there an order of the operations, with every
 * known-outcome one and any subset of the unknown ones, that respects real time (a before b when a returned before b
 * was called) and that a sequential map of registers (absent = null) explains? All keys at once, no partitioning.
 */
export function bruteForceLinearizable(operations: readonly Operation[]): boolean {
  if (operations.length > operationsMax) throw new RangeError(`Cannot brute-force ${operations.length} operations (max ${operationsMax})`);
  const knownCount = operations.filter((operation) => operation.output.kind === 'ok').length;
  const placed = operations.map(() => false);
  const store = new Map<string, string | null>();

  const mayGoNext = (candidate: Operation): boolean =>
    operations.every((other, index) => placed[index] === true || !(other.returnMs < candidate.callMs));

  const search = (placedKnown: number): boolean => {
    if (placedKnown === knownCount) return true;
    for (const [index, operation] of operations.entries()) {
      if (placed[index] === true || !mayGoNext(operation)) continue;
      const before = store.has(operation.key) ? store.get(operation.key) ?? null : null;
      if (!apply(store, operation)) continue;
      placed[index] = true;
      const found = search(placedKnown + (operation.output.kind === 'ok' ? 1 : 0));
      placed[index] = false;
      store.set(operation.key, before);
      if (found) return true;
    }
    return false;
  };
  return search(0);
}

/** Applies one operation to the map if its result is what the map would answer; false (and no change) if not. */
function apply(store: Map<string, string | null>, operation: Operation): boolean {
  const current = store.get(operation.key) ?? null;
  const { input, output } = operation;
  const known = output.kind === 'ok';
  if (input.kind === 'put') {
    store.set(operation.key, input.value);
    return true;
  }
  if (input.kind === 'get') return !known || output.value === current;
  if (input.kind === 'cas') {
    const swaps = current === input.expected;
    if (known && output.succeeded !== swaps) return false;
    if (swaps) store.set(operation.key, input.value);
    return true;
  }
  if (known && output.succeeded !== undefined && output.succeeded !== (current !== null)) return false;
  store.set(operation.key, null);
  return true;
}
