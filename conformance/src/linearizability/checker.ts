import { validateOperation, type Operation } from './history.js';
import { kvRegisterModel, type RegisterState } from './model.js';
import { preparePartition } from './prepare.js';
import { searchLinearization } from './search.js';

export interface CheckOptions {
  /** Steps the search may try on one key before it answers `unknown`; each key gets the full budget. */
  readonly visitedStatesMax?: number;
}

export const visitedStatesMaxDefault = 1_000_000;

/**
 * `ok` is true only for a proven linearizable history; `outcome` tells a violation from an undecided check.
 * A violation names the key, the longest sequence the search could linearize on it, the key's value after that
 * sequence, and the operations (known outcomes only) of which none could come next.
 */
export type CheckResult =
  | { readonly ok: true; readonly outcome: 'linearizable' }
  | {
    readonly ok: false;
    readonly outcome: 'not-linearizable';
    readonly key: string;
    readonly partialLinearization: readonly Operation[];
    readonly stateAfterPartialLinearization: RegisterState;
    readonly operationsNotLinearizable: readonly Operation[];
  }
  | {
    readonly ok: false;
    readonly outcome: 'unknown';
    readonly key: string;
    readonly visitedStates: number;
    readonly visitedStatesMax: number;
  };

/**
 * Checks a key-value history for linearizability. Keys are independent registers, so each key is checked alone
 * (linearizability is compositional) in key order; the first key that is not linearizable decides. A key whose
 * search runs out of budget makes the answer `unknown` unless a later key is proven not linearizable.
 * Throws HistoryFormatError for malformed operations.
 */
export function checkHistory(operations: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const visitedStatesMax = options.visitedStatesMax ?? visitedStatesMaxDefault;
  if (!Number.isSafeInteger(visitedStatesMax) || visitedStatesMax < 1) {
    throw new RangeError(`Cannot check history: visitedStatesMax ${visitedStatesMax} is not a positive integer`);
  }
  const partitions = new Map<string, Operation[]>();
  for (const operation of operations) {
    validateOperation(operation);
    const partition = partitions.get(operation.key);
    if (partition === undefined) partitions.set(operation.key, [operation]);
    else partition.push(operation);
  }
  let undecided: CheckResult | null = null;
  for (const key of [...partitions.keys()].sort()) {
    const result = checkKey(key, partitions.get(key) ?? [], visitedStatesMax);
    if (result.outcome === 'not-linearizable') return result;
    if (result.outcome === 'unknown') undecided ??= result;
  }
  return undecided ?? { ok: true, outcome: 'linearizable' };
}

function checkKey(key: string, operations: readonly Operation[], visitedStatesMax: number): CheckResult {
  const prepared = preparePartition(operations);
  const searchOperations = prepared.map((entry) => ({
    input: entry.operation.input, output: entry.operation.output, callMs: entry.callMs, returnMs: entry.returnMs,
  }));
  const outcome = searchLinearization(kvRegisterModel, searchOperations, visitedStatesMax);
  switch (outcome.kind) {
    case 'linearizable':
      return { ok: true, outcome: 'linearizable' };
    case 'budget-exceeded':
      return { ok: false, outcome: 'unknown', key, visitedStates: outcome.visitedStates, visitedStatesMax };
    case 'not-linearizable': {
      const original = (index: number): Operation => (prepared[index] as (typeof prepared)[number]).operation;
      const stuck = outcome.frontier.filter((index) => (prepared[index] as (typeof prepared)[number]).returnMs !== Infinity);
      return {
        ok: false,
        outcome: 'not-linearizable',
        key,
        partialLinearization: outcome.longestPrefix.map(original),
        stateAfterPartialLinearization: outcome.stateAfterPrefix,
        operationsNotLinearizable: stuck.map(original),
      };
    }
  }
}
