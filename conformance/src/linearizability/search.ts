import type { Model } from './model.js';

/** One operation of a partition as the search needs it; `returnMs` +Infinity: may be linearized late or never. */
export interface SearchOperation<Input, Output> {
  readonly input: Input;
  readonly output: Output;
  readonly callMs: number;
  readonly returnMs: number;
}

export type SearchOutcome<State> =
  | { readonly kind: 'linearizable'; readonly visitedStates: number }
  | {
    readonly kind: 'not-linearizable';
    readonly visitedStates: number;
    /** Indices of the longest sequence the search could linearize, in order. */
    readonly longestPrefix: readonly number[];
    readonly stateAfterPrefix: State;
    /** Indices of the operations that were candidates after that prefix, by call time; none could go next. */
    readonly frontier: readonly number[];
  }
  | { readonly kind: 'budget-exceeded'; readonly visitedStates: number };

const none = -1;

/**
 * Porcupine's search (Lowe's refinement of Wing & Gong): the call and return events sit in one doubly linked list
 * sorted by time (calls before returns at equal times: touching operations are concurrent). Walking the list, a call
 * whose step is legal is linearized: its two events are unlinked and the walk restarts from the head. Reaching a
 * return means that operation should have been linearized already, so the last choice is undone (events relinked,
 * state restored) and the walk goes on after it. A cache of (linearized set, state) pairs already explored prunes
 * the search. The history is linearizable when the list empties. Unknown outcomes return at +Infinity, after every
 * other event, so they are linearized wherever they help, or at the very end, which is the same as never.
 * `visitedStatesMax` bounds the number of steps tried; past it the answer is "budget exceeded", never a guess.
 */
export function searchLinearization<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly SearchOperation<Input, Output>[],
  visitedStatesMax: number,
): SearchOutcome<State> {
  const count = operations.length;
  const list = buildEventList(operations);
  const cache = new VisitedCache(model, count);
  const stackOps = new Int32Array(count);
  const stackStates: State[] = [];
  let depth = 0;
  let state = model.initialState;
  let visitedStates = 0;
  let longest: Extract<SearchOutcome<State>, { kind: 'not-linearizable' }> | null = null;
  let event = list.next[list.head] ?? none;
  while (list.next[list.head] !== none) {
    assert(event !== none, 'a walk of a non-empty event list always meets a return');
    const op = event >> 1;
    const operation = operations[op] as SearchOperation<Input, Output>;
    if ((event & 1) === 0) {
      visitedStates += 1;
      if (visitedStates > visitedStatesMax) return { kind: 'budget-exceeded', visitedStates };
      const result = model.step(state, operation.input, operation.output);
      if (result.ok && cache.insertIfNew(op, result.next)) {
        stackOps[depth] = op;
        stackStates[depth] = state;
        depth += 1;
        state = result.next;
        list.lift(op);
        event = list.next[list.head] ?? none;
      } else {
        event = list.next[event] ?? none;
      }
      continue;
    }
    if (longest === null || depth > longest.longestPrefix.length) {
      longest = {
        kind: 'not-linearizable', visitedStates, longestPrefix: Array.from(stackOps.subarray(0, depth)),
        stateAfterPrefix: state, frontier: list.callsBefore(event),
      };
    }
    if (depth === 0) return { ...longest, visitedStates };
    depth -= 1;
    const undone = stackOps[depth] as number;
    state = stackStates[depth] as State;
    cache.unmark(undone);
    list.unlift(undone);
    event = list.next[undone << 1] ?? none;
  }
  return { kind: 'linearizable', visitedStates };
}

/** Event `2i` is the call of operation i, `2i + 1` its return; `head` is a sentinel before the first event. */
interface EventList {
  readonly head: number;
  readonly next: Int32Array;
  lift(op: number): void;
  unlift(op: number): void;
  callsBefore(event: number): number[];
}

function buildEventList(operations: readonly SearchOperation<unknown, unknown>[]): EventList {
  const count = operations.length;
  for (const operation of operations) assert(operation.callMs <= operation.returnMs, 'every operation returns after its call');
  const timeOf = (event: number): number => {
    const operation = operations[event >> 1] as SearchOperation<unknown, unknown>;
    return (event & 1) === 0 ? operation.callMs : operation.returnMs;
  };
  const order = Array.from({ length: 2 * count }, (_, event) => event)
    .sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);
  const head = 2 * count;
  const next = new Int32Array(2 * count + 1).fill(none);
  const previous = new Int32Array(2 * count + 1).fill(none);
  let last = head;
  for (const event of order) {
    next[last] = event;
    previous[event] = last;
    last = event;
  }
  const unlink = (event: number): void => {
    const before = previous[event] as number;
    const after = next[event] as number;
    next[before] = after;
    if (after !== none) previous[after] = before;
  };
  const relink = (event: number): void => {
    const after = next[event] as number;
    if (after !== none) previous[after] = event;
    next[previous[event] as number] = event;
  };
  return {
    head,
    next,
    // Dancing links: unlift relinks in the reverse order of lift, and lifts are undone last-in first-out.
    lift: (op) => { unlink(op << 1); unlink((op << 1) + 1); },
    unlift: (op) => { relink((op << 1) + 1); relink(op << 1); },
    callsBefore: (stop) => {
      const calls: number[] = [];
      for (let event = next[head] as number; event !== stop && event !== none; event = next[event] as number) {
        if ((event & 1) === 0) calls.push(event >> 1);
      }
      return calls;
    },
  };
}

/** The set of linearized operations (a bitset with an incremental Zobrist hash) and every (set, state) seen. */
class VisitedCache<State> {
  readonly #model: Pick<Model<State, unknown, unknown>, 'equal' | 'hash'>;
  readonly #bits: Uint32Array;
  readonly #keys: Uint32Array;
  readonly #seen = new Map<number, { readonly bits: Uint32Array; readonly state: State }[]>();
  #hash = 0;

  constructor(model: Pick<Model<State, unknown, unknown>, 'equal' | 'hash'>, count: number) {
    this.#model = model;
    this.#bits = new Uint32Array(Math.ceil(count / 32));
    this.#keys = new Uint32Array(count);
    for (let op = 0; op < count; op += 1) this.#keys[op] = mix32(op + 1);
  }

  /** Marks `op` linearized; keeps the mark and returns true only if (set, state) was never seen before. */
  insertIfNew(op: number, state: State): boolean {
    this.#toggle(op);
    const key = (this.#hash ^ Math.imul(this.#model.hash(state), 0x9e3779b1)) >>> 0;
    const bucket = this.#seen.get(key);
    if (bucket?.some((seen) => this.#model.equal(seen.state, state) && sameBits(seen.bits, this.#bits)) === true) {
      this.#toggle(op);
      return false;
    }
    const entry = { bits: this.#bits.slice(), state };
    if (bucket === undefined) this.#seen.set(key, [entry]);
    else bucket.push(entry);
    return true;
  }

  unmark(op: number): void {
    assert(((this.#bits[op >>> 5] as number) & (1 << (op & 31))) !== 0, 'only a linearized operation is undone');
    this.#toggle(op);
  }

  #toggle(op: number): void {
    this.#bits[op >>> 5] = (this.#bits[op >>> 5] as number) ^ (1 << (op & 31));
    this.#hash = (this.#hash ^ (this.#keys[op] as number)) >>> 0;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let index = 0; index < a.length; index += 1) if (a[index] !== b[index]) return false;
  return true;
}

/** A 32-bit finaliser (murmur3 fmix32), so the Zobrist keys of neighbouring operations share no pattern. */
function mix32(value: number): number {
  let hash = Math.imul(value ^ (value >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new Error(`Linearizability search invariant broken: ${invariant}`);
}
