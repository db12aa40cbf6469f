/** Counters of store use, for /metrics. Op names are a small fixed set, so label cardinality stays bounded. */
export type StoreOp = 'get' | 'list' | 'put' | 'create' | 'cas' | 'delete' | 'txn' | 'watch' | 'lease';

export interface StoreMetricsSnapshot {
  readonly ops: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  readonly watchLagRevisionsMax: number;
  readonly watchResyncs: number;
}

export class StoreMetrics {
  readonly #ops = new Map<StoreOp, number>();
  readonly #errors = new Map<string, number>();
  readonly #watchSources = new Set<() => { lag: number; resyncs: number }>();

  countOp(op: StoreOp): void {
    this.#ops.set(op, (this.#ops.get(op) ?? 0) + 1);
  }

  countError(op: StoreOp, code: string): void {
    const label = `${op}:${code}`;
    this.#errors.set(label, (this.#errors.get(label) ?? 0) + 1);
  }

  trackWatch(source: () => { lag: number; resyncs: number }): () => void {
    this.#watchSources.add(source);
    return () => this.#watchSources.delete(source);
  }

  snapshot(): StoreMetricsSnapshot {
    let lag = 0;
    let resyncs = 0;
    for (const source of this.#watchSources) {
      const sample = source();
      lag = Math.max(lag, sample.lag);
      resyncs += sample.resyncs;
    }
    return { ops: Object.fromEntries(this.#ops), errors: Object.fromEntries(this.#errors), watchLagRevisionsMax: lag, watchResyncs: resyncs };
  }
}
