import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

/**
 * Where a served call spends its time, for the benchmark (berthd started with BERTH_TIMING=1): marks made by the
 * plugin's steps (`markServedPhase`, the bridge's onPhase) land in the recorder of the call they belong to, however
 * calls interleave, and the answer's stderr gets one `berth-timing {...}` line as the exec'd plugin prints.
 */
export class ServedCallTiming {
  readonly #phases: Record<string, number> = {};
  #lastMs: number;

  constructor(startedMs: number) {
    this.#lastMs = startedMs;
  }

  mark(name: string): void {
    const now = performance.now();
    this.#phases[name] = (this.#phases[name] ?? 0) + (now - this.#lastMs);
    this.#lastMs = now;
  }

  line(): string {
    this.mark('answer');
    return `berth-timing ${JSON.stringify({ phases: this.#phases })}\n`;
  }
}

const current = new AsyncLocalStorage<ServedCallTiming>();

export function withServedCallTiming<T>(timing: ServedCallTiming | undefined, fn: () => Promise<T>): Promise<T> {
  return timing === undefined ? fn() : current.run(timing, fn);
}

/** Marks the end of a step of the served call running now; a no-op outside one or without timing. */
export function markServedPhase(name: string): void {
  current.getStore()?.mark(name);
}
