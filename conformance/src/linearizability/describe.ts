import type { CheckResult } from './checker.js';
import { describeInput, describeOutput, type Operation } from './history.js';
import { kvRegisterModel } from './model.js';

export interface DescribeOptions {
  /** How many of the last operations of the partial linearization to print. */
  readonly partialLinearizationShownMax?: number;
}

/**
 * A report for a test log. Times are milliseconds since the first call among the operations shown (t0, printed),
 * so concurrent operations can be compared at a glance.
 *
 * ```
 * history is not linearizable on key "k": after 2 operations (last ones below) the key held "2",
 * and none of these could be linearized next:
 *   client 1  get → "1"            [+10.000, +12.000]  get → "1", but the key held "2"
 * partial linearization (t0 = 86412.113 ms):
 *   1. client 1  put "1" → ok      [+0.000, +3.000]
 *   2. client 2  put "2" → ok      [+4.000, +6.000]
 * ```
 */
export function describeFailure(result: CheckResult, options: DescribeOptions = {}): string {
  if (result.outcome === 'linearizable') return 'history is linearizable';
  if (result.outcome === 'unknown') {
    return `linearizability of key ${JSON.stringify(result.key)} is undecided: the search visited ${result.visitedStates}` +
      ` states (visitedStatesMax ${result.visitedStatesMax}); raise the budget or shorten the history`;
  }
  const shownMax = options.partialLinearizationShownMax ?? 20;
  const partial = result.partialLinearization;
  const shown = partial.slice(Math.max(0, partial.length - shownMax));
  const originMs = Math.min(...[...shown, ...result.operationsNotLinearizable].map((operation) => operation.callMs));
  const state = result.stateAfterPartialLinearization;
  const lines = [
    `history is not linearizable on key ${JSON.stringify(result.key)}: after ${partial.length} operations` +
      ` the key ${state === null ? 'was absent' : `held ${JSON.stringify(state)}`},` +
      ' and none of these could be linearized next:',
  ];
  for (const operation of result.operationsNotLinearizable) {
    const step = kvRegisterModel.step(state, operation.input, operation.output);
    const why = step.ok ? 'fits here, but no linearization of the rest follows it' : step.reason;
    lines.push(`  ${describeOperation(operation, originMs)}  ${why}`);
  }
  lines.push(`partial linearization (t0 = ${originMs.toFixed(3)} ms):`);
  if (shown.length < partial.length) lines.push(`  … ${partial.length - shown.length} earlier operations`);
  shown.forEach((operation, index) => {
    lines.push(`  ${partial.length - shown.length + index + 1}. ${describeOperation(operation, originMs)}`);
  });
  if (partial.length === 0) lines.push('  (none: not even the first operation fits)');
  return lines.join('\n');
}

/** `client 3  cas "a"→"b" → failed  [+1.250, +4.000]`; an unknown outcome returns at +∞. */
export function describeOperation(operation: Operation, originMs = 0): string {
  const at = (ms: number): string => (ms === Infinity ? '+∞' : `+${(ms - originMs).toFixed(3)}`);
  const what = `${describeInput(operation.input)} → ${describeOutput(operation.input, operation.output)}`;
  return `client ${operation.clientId}  ${what.padEnd(28)} [${at(operation.callMs)}, ${at(operation.returnMs)}]`;
}
