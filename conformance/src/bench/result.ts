/**
 * The one result type every benchmark returns: named measurements of one side (Berth, its peer, a baseline) at one
 * size (endpoints, policies, clients… or none), each with its raw samples (one per round or per call), from which
 * the report takes the median and the spread. A benchmark keeps its own printed text beside them.
 */
export interface Measurement {
  /** What is measured, the same string across sides and sizes: 'CNI ADD latency', 'new connections'. */
  readonly metric: string;
  /** Unit of every sample: 'ms', 'conn/s', 'Gbit/s', 'writes/s'. */
  readonly unit: string;
  /** Who was measured: 'Berth (served)', 'reference bridge', 'raw etcd'. */
  readonly side: string;
  /** The size this was measured at, when the metric has one; `sizeName` says of what. */
  readonly size?: number;
  readonly sizeName?: string;
  readonly samples: readonly number[];
}

export interface BenchResult {
  readonly name: string;
  readonly title: string;
  /** The benchmark's own printed report. */
  readonly text: string;
  readonly measurements: readonly Measurement[];
}

export interface Summary {
  readonly count: number;
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

function quantile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * fraction;
  const below = Math.floor(position);
  const low = sorted[below] as number;
  const high = sorted[Math.min(sorted.length - 1, below + 1)] as number;
  return low + (high - low) * (position - below);
}

/** The `fraction` quantile of samples in any order (linear interpolation between ranks); NaN for none. */
export function percentile(values: readonly number[], fraction: number): number {
  return quantile([...values].sort((a, b) => a - b), fraction);
}

export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** Median and spread (p10..p90, min..max) of samples; NaN for none. Non-finite samples are ignored. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    count: sorted.length, median: quantile(sorted, 0.5), p10: quantile(sorted, 0.1), p90: quantile(sorted, 0.9),
    min: sorted[0] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** One measurement per side of the same metric, from samples keyed by side (no size). */
export function sideMeasurements(metric: string, unit: string, samplesBySide: ReadonlyMap<string, readonly number[]>): Measurement[] {
  return [...samplesBySide].map(([side, samples]) => ({ metric, unit, side, samples }));
}
