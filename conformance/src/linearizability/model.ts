import { describeInput, describeOutput, type KvInput, type KvOutput } from './history.js';

export type StepResult<State> =
  | { readonly ok: true; readonly next: State }
  | { readonly ok: false; readonly reason: string };

/**
 * A sequential specification, as Porcupine's `Model`: from a state, applying an input that produced an output is
 * either legal (with the state after it) or not. `step` must be pure: the checker calls it on many branches.
 */
export interface Model<State, Input, Output> {
  readonly initialState: State;
  step(state: State, input: Input, output: Output): StepResult<State>;
  equal(a: State, b: State): boolean;
  /** A 32-bit hash consistent with `equal`, for the checker's cache of visited states. */
  hash(state: State): number;
  describeState(state: State): string;
}

/** The value held by one key, `null` while the key does not exist. */
export type RegisterState = string | null;

/**
 * One etcd key as a register. An unknown output is legal from any state and applies the input's effect: the
 * checker covers "it never took effect" by linearizing it after everything else (or, equivalently, not at all).
 */
export const kvRegisterModel: Model<RegisterState, KvInput, KvOutput> = {
  initialState: null,
  step: stepRegister,
  equal: (a, b) => a === b,
  hash: hashRegister,
  describeState: (state) => (state === null ? 'absent' : JSON.stringify(state)),
};

function stepRegister(state: RegisterState, input: KvInput, output: KvOutput): StepResult<RegisterState> {
  const held = state === null ? 'the key was absent' : `the key held ${JSON.stringify(state)}`;
  const illegal = (): StepResult<RegisterState> =>
    ({ ok: false, reason: `${describeInput(input)} → ${describeOutput(input, output)}, but ${held}` });
  const known = output.kind === 'ok';
  switch (input.kind) {
    case 'put':
      return { ok: true, next: input.value };
    case 'get':
      if (known && output.value !== state) return illegal();
      return { ok: true, next: state };
    case 'cas': {
      const matches = state === input.expected;
      if (known && output.succeeded !== matches) return illegal();
      return { ok: true, next: matches ? input.value : state };
    }
    case 'delete':
      if (known && output.succeeded !== undefined && output.succeeded !== (state !== null)) return illegal();
      return { ok: true, next: null };
  }
}

/** FNV-1a over the UTF-16 code units; absent hashes apart from every string. */
function hashRegister(state: RegisterState): number {
  if (state === null) return 0x9e3779b9;
  let hash = 0x811c9dc5;
  for (let index = 0; index < state.length; index += 1) {
    hash = Math.imul(hash ^ state.charCodeAt(index), 0x01000193);
  }
  return hash >>> 0;
}
