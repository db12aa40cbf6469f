import { performance } from 'node:perf_hooks';

/** One step's end, in ms since the process started (performance's time origin). */
export interface PhaseMark { readonly name: string; readonly atMs: number }

/**
 * Where a plugin process spends its time, for the benchmark: Node's own bootstrap, loading the bundle, then each
 * step. Enabled by BERTH_TIMING=1; printed as one JSON line on stderr at exit (never stdout, which is the result).
 */
export class PhaseRecorder {
  readonly #marks: PhaseMark[] = [];

  constructor() {
    this.mark('loaded');
  }

  mark(name: string): void {
    this.#marks.push({ name, atMs: performance.now() });
  }

  /** `{ bootstrapMs, phases: { loaded, …, exit } }`: each phase's duration since the previous mark. */
  summary(): { bootstrapMs: number; phases: Record<string, number> } {
    const bootstrapMs = performance.nodeTiming.bootstrapComplete;
    const phases: Record<string, number> = {};
    let previous = bootstrapMs;
    for (const mark of [...this.#marks, { name: 'exit', atMs: performance.now() }]) {
      phases[mark.name] = (phases[mark.name] ?? 0) + (mark.atMs - previous);
      previous = mark.atMs;
    }
    return { bootstrapMs, phases };
  }
}
