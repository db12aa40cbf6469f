/**
 * berth-runtime as a library, for a caller that would otherwise exec it (`berth run`): the same `run`, `state` and
 * `delete --force`, with the same effects and messages, without a Node start per call. The caller may run its own
 * hooks in its process (InProcessHooks); any other hook is exec'd as the executable would.
 */
import { resolve } from 'node:path';
import { errorMessage, RuntimeError } from './errors.js';
import type { InProcessHooks } from './hooks.js';
import { deleteContainer } from './lifecycle.js';
import { RuntimeLog } from './log.js';
import { runContainer, type InitSource } from './run.js';
import { StateStore } from './state.js';

/** A foreground `run`: the container's exit status, or the runtime's failure as `berth-runtime run` reports it. */
export type EmbeddedRunOutcome = { readonly code: number } | { readonly failure: string };

export interface EmbeddedRunOptions extends InitSource {
  /** Log a failure to stderr as the executable does. */
  readonly log: boolean;
}

export class EmbeddedRuntime {
  readonly #store: StateStore;
  readonly #hooks: InProcessHooks | undefined;

  constructor(root: string, inProcessHooks?: InProcessHooks) {
    this.#store = new StateStore(resolve(root));
    this.#hooks = inProcessHooks;
  }

  /** `state`'s status, or undefined when there is no such container. */
  status(id: string): string | undefined {
    try {
      return this.#store.status(this.#store.load(id));
    } catch (error) {
      if (error instanceof RuntimeError) return undefined;
      throw error;
    }
  }

  /** `delete --force` (poststop hooks included). */
  async forceDelete(id: string): Promise<void> {
    await deleteContainer(this.#store, id, true, this.#hooks);
  }

  /**
   * `run --bundle BUNDLE ID` in the foreground, by default on this process's stdio (which the container inherits)
   * with the signals this process receives going to the container. A failure is also logged to stderr as the
   * executable logs it when `log`.
   */
  async run(id: string, bundle: string, options: EmbeddedRunOptions): Promise<EmbeddedRunOutcome> {
    try {
      return {
        code: await runContainer(this.#store, {
          ...options, id, bundle, detach: false, keep: false, ...(this.#hooks === undefined ? {} : { inProcessHooks: this.#hooks }),
        }),
      };
    } catch (error) {
      const failure = `berth-runtime run failed: ${errorMessage(error)}`;
      if (options.log) new RuntimeLog(undefined, 'text').fatal(failure);
      return { failure };
    }
  }
}
