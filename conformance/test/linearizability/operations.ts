import type { KvInput, KvOkOutput, Operation } from '../../src/linearizability/history.js';

/** Builders for hand-written histories: `[callMs, returnMs]` first, then what the operation did. */
const known = (clientId: number, key: string, input: KvInput, output: Omit<KvOkOutput, 'kind'>, at: readonly [number, number]): Operation =>
  ({ clientId, key, input, output: { kind: 'ok', ...output }, callMs: at[0], returnMs: at[1] });

export const put = (clientId: number, key: string, value: string, at: readonly [number, number]): Operation =>
  known(clientId, key, { kind: 'put', value }, {}, at);

export const get = (clientId: number, key: string, value: string | null, at: readonly [number, number]): Operation =>
  known(clientId, key, { kind: 'get' }, { value }, at);

export const cas = (
  clientId: number, key: string, swap: { expected: string | null; value: string; succeeded: boolean }, at: readonly [number, number],
): Operation => known(clientId, key, { kind: 'cas', expected: swap.expected, value: swap.value }, { succeeded: swap.succeeded }, at);

export const del = (clientId: number, key: string, existed: boolean | undefined, at: readonly [number, number]): Operation =>
  known(clientId, key, { kind: 'delete' }, existed === undefined ? {} : { succeeded: existed }, at);

/** The same operation, but the client timed out: unknown outcome, returns at +Infinity. */
export const timedOut = (operation: Operation): Operation => ({ ...operation, output: { kind: 'unknown' }, returnMs: Infinity });
