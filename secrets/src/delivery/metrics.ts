/** Delivery counters and the lag from a change's commit to its files being in place, for /metrics. */
export const lagBucketsMs = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000] as const;

export class DeliveryMetrics {
  deliveries = 0;
  failures = 0;
  readonly lagBuckets: number[] = lagBucketsMs.map(() => 0);
  lagCount = 0;
  lagSumMs = 0;

  observeLag(lagMs: number): void {
    const value = Math.max(0, lagMs);
    this.lagCount += 1;
    this.lagSumMs += value;
    lagBucketsMs.forEach((bound, index) => {
      if (value <= bound) this.lagBuckets[index] = (this.lagBuckets[index] ?? 0) + 1;
    });
  }
}
