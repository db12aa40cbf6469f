/**
 * Undo steps of a multi-step ADD: each step that changed something pushes how to take it back; when ADD fails they
 * run last first, and an undo step that fails is reported without hiding the original error.
 */
export class UndoStack {
  readonly #steps: { readonly what: string; readonly undo: () => unknown }[] = [];

  push(what: string, undo: () => unknown): void {
    this.#steps.push({ what, undo });
  }

  /** Forgets every step: the work committed. */
  commit(): void {
    this.#steps.length = 0;
  }

  /** Runs every step, last first; returns a description of each that failed. */
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
}

/**
 * Runs `work` with an undo stack; if it throws, unwinds, hands the undo steps that failed (if any) to `report`, and
 * rethrows the original error. A report that fails itself is ignored: the original error is what the caller needs.
 */
export async function withUndo<T>(work: (undo: UndoStack) => Promise<T>,
  report: (failures: string[]) => unknown = () => undefined): Promise<T> {
  const undo = new UndoStack();
  try {
    const value = await work(undo);
    undo.commit();
    return value;
  } catch (error) {
    const failures = await undo.unwind();
    if (failures.length > 0) {
      try {
        await report(failures);
      } catch {
        // Reporting is best effort; the original error below is the one that matters.
      }
    }
    throw error;
  }
}

/** Logs undo steps that failed. The logger (pino) is loaded only then: a plugin start never pays for it. */
export async function reportUndoFailures(component: string, failures: readonly string[]): Promise<void> {
  const { createLogger } = await import('../../log/logger.js');
  createLogger(component).error({ failures }, 'ADD failed, and some of its undo steps failed too');
}
