/**
 * A fixed-window counter per source address: at most `requestsMax` requests per `windowMs` from one address. The
 * table is bounded (`sourcesMax`); when full, windows that ended are dropped first, then the oldest.
 */
export class SourceRateLimiter {
  readonly #requestsMax: number;
  readonly #windowMs: number;
  readonly #sourcesMax: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, { startMs: number; count: number }>();

  constructor(options: { requestsMax: number; windowMs: number; sourcesMax?: number; now?: () => number }) {
    for (const [name, value] of Object.entries({ requestsMax: options.requestsMax, windowMs: options.windowMs })) {
      if (!Number.isInteger(value) || value <= 0) throw new RangeError(`SourceRateLimiter ${name} must be a positive integer, not ${value}`);
    }
    this.#requestsMax = options.requestsMax;
    this.#windowMs = options.windowMs;
    this.#sourcesMax = options.sourcesMax ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Counts one request from `source`; false when it is over the limit (and should be refused). */
  admit(source: string): boolean {
    const nowMs = this.#now();
    const window = this.#windows.get(source);
    if (window === undefined || nowMs - window.startMs >= this.#windowMs) {
      if (window === undefined && this.#windows.size >= this.#sourcesMax) this.#evict(nowMs);
      this.#windows.set(source, { startMs: nowMs, count: 1 });
      return true;
    }
    window.count += 1;
    return window.count <= this.#requestsMax;
  }

  #evict(nowMs: number): void {
    for (const [source, window] of this.#windows) if (nowMs - window.startMs >= this.#windowMs) this.#windows.delete(source);
    const oldest = this.#windows.keys().next();
    if (this.#windows.size >= this.#sourcesMax && oldest.done !== true) this.#windows.delete(oldest.value);
  }
}
