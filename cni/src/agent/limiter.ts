/**
 * Bounds the calls berthd runs at once: up to `inFlightMax` run, up to `queuedMax` more wait their turn (first come,
 * first served), and beyond that a call is declined at once, so the shim execs the plugin instead of waiting.
 */
export class CallLimiter {
  readonly inFlightMax: number;
  readonly queuedMax: number;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(inFlightMax: number, queuedMax: number) {
    if (!(Number.isInteger(inFlightMax) && inFlightMax >= 1 && Number.isInteger(queuedMax) && queuedMax >= 0)) {
      throw new RangeError(`CallLimiter: invalid limits inFlightMax=${inFlightMax} queuedMax=${queuedMax}`);
    }
    this.inFlightMax = inFlightMax;
    this.queuedMax = queuedMax;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** A promise of the turn (resolving to its release function), or undefined when the queue is full. */
  tryEnter(): Promise<() => void> | undefined {
    if (this.#inFlight < this.inFlightMax) {
      this.#inFlight += 1;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.queuedMax) return undefined;
    return new Promise((resolve) => {
      this.#waiting.push(() => resolve(this.#releaser()));
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next === undefined) this.#inFlight -= 1;
      else next();
    };
  }
}
