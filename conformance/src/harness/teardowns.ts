import type { TeardownRegistry } from './test-host.js';

/** Cleanup steps registered while something runs, run when it ends, last first; failures are collected, not thrown. */
export class Teardowns implements TeardownRegistry {
  readonly #steps: (() => unknown)[] = [];

  teardown(fn: () => unknown): void {
    this.#steps.push(fn);
  }

  async run(): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    return failures;
  }
}
