import type { KvInput, KvOkOutput, Operation } from '../../src/linearizability/history.js';
import { SeededRandom } from './random.js';

export interface SimulationOptions {
  readonly seed: number;
  readonly clients: number;
  readonly keys: number;
  readonly operations: number;
  /** Chance that a client times out on an operation; half of those still take effect, possibly much later. */
  readonly unknownProbability: number;
  /** `stale-cache`: each client answers some gets from the values it saw last, as a broken client cache would. */
  readonly mode: 'correct' | 'stale-cache';
  readonly staleReadProbability?: number;
  /** Values drawn from this many names (repeats allowed); absent: every written value is unique. */
  readonly valueDomain?: number;
  /** Whole milliseconds, so calls and returns often coincide (touching operations are concurrent). */
  readonly integerTimes?: boolean;
  readonly latencyMsMax?: number;
}

interface Planned {
  readonly clientId: number;
  readonly key: string;
  readonly input: KvInput;
  readonly callMs: number;
  /** For a timeout, when the client gave up. */
  readonly returnMs: number;
  readonly timedOut: boolean;
  /** When the operation takes effect in the simulated store; null: never (a timeout that did not reach it). */
  readonly effectMs: number | null;
}

/**
 * Simulates clients of one correct store: each operation takes effect atomically at one instant between its call
 * and its return (anywhere after its call when the client timed out), and results are computed in the order of those
 * instants. So in `correct` mode every history is linearizable by construction.
 */
export function simulateHistory(options: SimulationOptions): Operation[] {
  const random = new SeededRandom(options.seed);
  const planned = planOperations(options, random);
  const outputs = evaluate(planned, options, random);
  return planned.map((plan, index): Operation => {
    const output = outputs[index];
    const base = { clientId: plan.clientId, key: plan.key, input: plan.input, callMs: plan.callMs };
    return plan.timedOut
      ? { ...base, output: { kind: 'unknown' }, returnMs: Infinity }
      : { ...base, output: output ?? fail(`known operation ${index} has no output`), returnMs: plan.returnMs };
  });
}

function planOperations(options: SimulationOptions, random: SeededRandom): Planned[] {
  const time = (ms: number): number => (options.integerTimes === true ? Math.round(ms) : Math.round(ms * 1000) / 1000);
  const latencyMsMax = options.latencyMsMax ?? 20;
  const cursors = Array.from({ length: options.clients }, () => time(random.float() * 5));
  const written = new Map<string, string[]>();
  let counter = 0;
  const planned: Planned[] = [];
  for (let index = 0; index < options.operations; index += 1) {
    const clientId = cursors.indexOf(Math.min(...cursors));
    const key = `k${random.int(options.keys)}`;
    const value = options.valueDomain === undefined ? `c${clientId}-${counter++}` : `v${random.int(options.valueDomain)}`;
    const recent = written.get(key) ?? [];
    const input = chooseInput(random, value, recent);
    if (input.kind === 'put' || input.kind === 'cas') written.set(key, [...recent.slice(-3), input.value]);
    const callMs = cursors[clientId] as number;
    const returnMs = time(callMs + random.float() * latencyMsMax);
    const timedOut = random.chance(options.unknownProbability);
    const effectMs = !timedOut ? callMs + random.float() * (returnMs - callMs)
      : random.chance(0.5) ? callMs + random.float() * latencyMsMax * 4 : null;
    planned.push({ clientId, key, input, callMs, returnMs, timedOut, effectMs });
    cursors[clientId] = time(returnMs + random.float() * 3);
  }
  return planned;
}

function chooseInput(random: SeededRandom, value: string, recent: readonly string[]): KvInput {
  const roll = random.float();
  if (roll < 0.35) return { kind: 'put', value };
  if (roll < 0.75) return { kind: 'get' };
  if (roll < 0.92) {
    const expected = recent.length === 0 || random.chance(0.15) ? null : random.pick(recent);
    return { kind: 'cas', expected, value };
  }
  return { kind: 'delete' };
}

/** Outputs of known operations (undefined for timeouts), computed in effect order. */
function evaluate(planned: readonly Planned[], options: SimulationOptions, random: SeededRandom): (KvOkOutput | undefined)[] {
  const store = new Map<string, string | null>();
  const caches = Array.from({ length: options.clients }, () => new Map<string, string | null>());
  const outputs: (KvOkOutput | undefined)[] = planned.map(() => undefined);
  const order = planned.map((_, index) => index).filter((index) => planned[index]?.effectMs !== null)
    .sort((a, b) => (planned[a]?.effectMs ?? 0) - (planned[b]?.effectMs ?? 0));
  for (const index of order) {
    const plan = planned[index] as Planned;
    const cache = caches[plan.clientId] as Map<string, string | null>;
    const held = store.get(plan.key) ?? null;
    let output: KvOkOutput;
    switch (plan.input.kind) {
      case 'put':
        store.set(plan.key, plan.input.value);
        output = { kind: 'ok' };
        break;
      case 'get': {
        const stale = options.mode === 'stale-cache' && cache.has(plan.key) && random.chance(options.staleReadProbability ?? 0.5);
        output = { kind: 'ok', value: stale ? cache.get(plan.key) ?? null : held };
        break;
      }
      case 'cas': {
        const succeeded = held === plan.input.expected;
        if (succeeded) store.set(plan.key, plan.input.value);
        output = { kind: 'ok', succeeded };
        break;
      }
      case 'delete':
        store.set(plan.key, null);
        output = { kind: 'ok', succeeded: held !== null };
        break;
    }
    if (plan.timedOut) continue;
    outputs[index] = output;
    rememberInCache(cache, plan, output);
  }
  return outputs;
}

function rememberInCache(cache: Map<string, string | null>, plan: Planned, output: KvOkOutput): void {
  switch (plan.input.kind) {
    case 'put':
      cache.set(plan.key, plan.input.value);
      return;
    case 'get':
      cache.set(plan.key, output.value ?? null);
      return;
    case 'cas':
      if (output.succeeded === true) cache.set(plan.key, plan.input.value);
      return;
    case 'delete':
      cache.set(plan.key, null);
  }
}

function fail(message: string): never {
  throw new Error(message);
}
