/**
 * Undo steps for a multi-step ADD: each step that changed something pushes how to take it back; on failure they run
 * in reverse order, and each failure of an undo step is collected rather than hiding the original error.
 */
export class Rollback {
  readonly #steps: { readonly what: string; readonly undo: () => unknown }[] = [];

  push(what: string, undo: () => unknown): void {
    this.#steps.push({ what, undo });
  }

  /** Runs every undo step, last first; returns descriptions of those that failed. */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (error) {
        failures.push(`${step.what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return failures;
  }

  /** Runs `work`; if it throws, unwinds and rethrows the original error (undo failures go to `report`). */
  static async guard<T>(work: (rollback: Rollback) => Promise<T>, report: (failures: string[]) => void = () => undefined): Promise<T> {
    const rollback = new Rollback();
    try {
      return await work(rollback);
    } catch (error) {
      const failures = await rollback.unwind();
      if (failures.length > 0) report(failures);
      throw error;
    }
  }
}
