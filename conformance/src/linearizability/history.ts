/**
 * A history of operations on a key-value store, as clients saw them: what each asked for, when it asked, what it got
 * back and when. The checker decides whether some sequential order of these operations, consistent with real time,
 * explains every result (linearizability).
 *
 * A timeout or a lost connection is an *unknown outcome*: the operation may or may not have taken effect. Its
 * `output` is `{ kind: 'unknown' }` and its `returnMs` is +Infinity, so it may be linearized anywhere after its call,
 * or never.
 */

/** What a client asked for, on one key. `cas` with `expected: null` means "only if the key does not exist". */
export type KvInput =
  | { readonly kind: 'put'; readonly value: string }
  | { readonly kind: 'get' }
  | { readonly kind: 'cas'; readonly expected: string | null; readonly value: string }
  | { readonly kind: 'delete' };

/**
 * What the store answered. Which fields an `ok` carries depends on the input:
 * - `put`: none (any given are ignored);
 * - `get`: `value`, the value read (`null`: the key does not exist);
 * - `cas`: `succeeded`, whether the swap happened;
 * - `delete`: optionally `succeeded`, whether the key existed (etcd's `deleted > 0`).
 */
export interface KvOkOutput {
  readonly kind: 'ok';
  readonly value?: string | null;
  readonly succeeded?: boolean;
}

export type KvOutput = KvOkOutput | { readonly kind: 'unknown' };

export interface Operation {
  readonly clientId: number;
  readonly key: string;
  readonly input: KvInput;
  readonly output: KvOutput;
  /** When the client sent it, on a clock shared by every client of the history (monotonic, milliseconds). */
  readonly callMs: number;
  /** When the client got the answer; +Infinity exactly when the output is unknown. */
  readonly returnMs: number;
}

/** A history that breaks the shape rules above: a bug in the recorder or a damaged file, never a finding. */
export class HistoryFormatError extends Error {
  readonly code = 'HISTORY_FORMAT';

  constructor(message: string) {
    super(message);
    this.name = 'HistoryFormatError';
  }
}

/** Throws HistoryFormatError unless the output fits the input (see KvOkOutput) and the times are ordered. */
export function validateOperation(operation: Operation): void {
  const where = `operation of client ${operation.clientId} on key ${JSON.stringify(operation.key)}`;
  if (!Number.isFinite(operation.callMs)) {
    throw new HistoryFormatError(`Cannot accept ${where}: callMs ${operation.callMs} is not a finite number`);
  }
  if (operation.output.kind === 'unknown') {
    if (operation.returnMs !== Infinity) {
      throw new HistoryFormatError(`Cannot accept ${where}: unknown outcome needs returnMs Infinity, got ${operation.returnMs}`);
    }
    return;
  }
  if (!Number.isFinite(operation.returnMs) || operation.returnMs < operation.callMs) {
    throw new HistoryFormatError(
      `Cannot accept ${where}: returnMs ${operation.returnMs} is not a finite time at or after callMs ${operation.callMs}`);
  }
  const problem = outputProblem(operation.input, operation.output);
  if (problem !== null) throw new HistoryFormatError(`Cannot accept ${where}: ${problem}`);
}

function outputProblem(input: KvInput, output: KvOkOutput): string | null {
  switch (input.kind) {
    case 'put':
      return null;
    case 'get':
      return output.value === undefined ? 'a get that succeeded must carry the value read (null if absent)' : null;
    case 'cas':
      return output.succeeded === undefined ? 'a cas that returned must say whether it succeeded' : null;
    case 'delete':
      return null;
  }
}

/** A short human form of an input and output, for failure reports: `cas "a"→"b" → failed`. */
export function describeInput(input: KvInput): string {
  switch (input.kind) {
    case 'put':
      return `put ${JSON.stringify(input.value)}`;
    case 'get':
      return 'get';
    case 'cas':
      return `cas ${JSON.stringify(input.expected)}→${JSON.stringify(input.value)}`;
    case 'delete':
      return 'delete';
  }
}

export function describeOutput(input: KvInput, output: KvOutput): string {
  if (output.kind === 'unknown') return 'unknown (timed out)';
  switch (input.kind) {
    case 'put':
      return 'ok';
    case 'get':
      return JSON.stringify(output.value ?? null);
    case 'cas':
      return output.succeeded === true ? 'succeeded' : 'failed';
    case 'delete':
      return output.succeeded === undefined ? 'ok' : output.succeeded ? 'deleted' : 'not found';
  }
}
