import { encodeHistoryEvent, type HistoryEvent } from './history-codec.js';
import { validateOperation, type KvInput, type KvOkOutput, type Operation } from './history.js';

/** A monotonic clock in milliseconds. Every client of one history must read the same clock. */
export interface Clock {
  nowMs(): number;
}

/**
 * CLOCK_MONOTONIC through `process.hrtime`: one clock for the whole host, so client processes on one machine
 * produce comparable times (Date.now() can jump; performance.now() starts at each process's own origin).
 */
export const monotonicClock: Clock = {
  nowMs: () => Number(process.hrtime.bigint()) / 1e6,
};

/** Where a recorder writes each event line as it happens (a file, so a killed client keeps what it invoked). */
export interface HistorySink {
  write(line: string): void;
}

/** Names one invoked operation of one recorder. */
export interface OperationToken {
  readonly clientId: number;
  readonly opId: number;
}

export interface HistoryRecorderOptions {
  readonly clientId: number;
  readonly clock: Clock;
  readonly sink?: HistorySink;
  /** Operations invoked and not yet completed; a client over this leaks tokens. */
  readonly pendingOperationsMax?: number;
}

const pendingOperationsMaxDefault = 1024;

interface PendingOperation {
  readonly key: string;
  readonly input: KvInput;
  readonly callMs: number;
}

/**
 * Records one client's operations: `invoke` before sending a request, then `ok` with what came back or `unknown`
 * when the client gave up (timeout, connection lost: the request may still take effect).
 */
export class HistoryRecorder {
  readonly clientId: number;
  readonly #clock: Clock;
  readonly #sink: HistorySink | undefined;
  readonly #pendingOperationsMax: number;
  readonly #pending = new Map<number, PendingOperation>();
  readonly #completed: { readonly opId: number; readonly operation: Operation }[] = [];
  #nextOpId = 0;
  #lastMs = -Infinity;

  constructor(options: HistoryRecorderOptions) {
    if (!Number.isSafeInteger(options.clientId) || options.clientId < 0) {
      throw new RangeError(`Cannot record history: clientId ${options.clientId} is not a non-negative integer`);
    }
    const pendingOperationsMax = options.pendingOperationsMax ?? pendingOperationsMaxDefault;
    if (!Number.isSafeInteger(pendingOperationsMax) || pendingOperationsMax < 1) {
      throw new RangeError(`Cannot record history: pendingOperationsMax ${pendingOperationsMax} is not a positive integer`);
    }
    this.clientId = options.clientId;
    this.#clock = options.clock;
    this.#sink = options.sink;
    this.#pendingOperationsMax = pendingOperationsMax;
  }

  invoke(key: string, input: KvInput): OperationToken {
    if (this.#pending.size >= this.#pendingOperationsMax) {
      throw new RangeError(`Cannot invoke on client ${this.clientId}: ${this.#pending.size} operations pending (pendingOperationsMax)`);
    }
    const opId = this.#nextOpId++;
    const callMs = this.#now();
    this.#pending.set(opId, { key, input, callMs });
    this.#emit({ event: 'invoke', clientId: this.clientId, opId, key, input, atMs: callMs });
    return { clientId: this.clientId, opId };
  }

  /** The store answered; `output` must fit the input (a get carries `value`, a cas `succeeded`). */
  ok(token: OperationToken, output: Omit<KvOkOutput, 'kind'>): Operation {
    const pending = this.#find(token);
    const returnMs = this.#now();
    const operation: Operation = { clientId: this.clientId, ...pending, output: { kind: 'ok', ...output }, returnMs };
    validateOperation(operation);
    this.#pending.delete(token.opId);
    this.#completed.push({ opId: token.opId, operation });
    this.#emit({ event: 'ok', clientId: this.clientId, opId: token.opId, output, atMs: returnMs });
    return operation;
  }

  /** The client gave up waiting: the operation may or may not take effect, at any time after its call. */
  unknown(token: OperationToken): Operation {
    const pending = this.#find(token);
    this.#pending.delete(token.opId);
    const gaveUpMs = this.#now();
    const operation: Operation = { clientId: this.clientId, ...pending, output: { kind: 'unknown' }, returnMs: Infinity };
    this.#completed.push({ opId: token.opId, operation });
    this.#emit({ event: 'unknown', clientId: this.clientId, opId: token.opId, atMs: gaveUpMs });
    return operation;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Everything recorded so far, in invocation order; operations still pending count as unknown outcomes. */
  operations(): Operation[] {
    const all = [...this.#completed];
    for (const [opId, pending] of this.#pending) {
      all.push({ opId, operation: { clientId: this.clientId, ...pending, output: { kind: 'unknown' }, returnMs: Infinity } });
    }
    return all.sort((a, b) => a.opId - b.opId).map((entry) => entry.operation);
  }

  #find(token: OperationToken): PendingOperation {
    const pending = token.clientId === this.clientId ? this.#pending.get(token.opId) : undefined;
    if (pending === undefined) {
      throw new RangeError(`Cannot complete operation ${token.opId} of client ${token.clientId} on client ${this.clientId}: not pending`);
    }
    return pending;
  }

  #now(): number {
    const nowMs = this.#clock.nowMs();
    if (!(nowMs >= this.#lastMs)) throw new RangeError(`Clock went backwards: ${nowMs} ms after ${this.#lastMs} ms`);
    this.#lastMs = nowMs;
    return nowMs;
  }

  #emit(event: HistoryEvent): void {
    this.#sink?.write(`${encodeHistoryEvent(event)}\n`);
  }
}
