import { absent, defineCollection, type Store } from '@berth/secrets';
import type { HistoryRecorder } from '../linearizability/index.js';

/** The keyspace the conformance workloads use: `/berth/v1/conformance/kv/<key>`, string values. */
export const conformanceKv = defineCollection<string>('conformance/kv', (value) => {
  if (typeof value !== 'string') throw new TypeError('expected a string');
  return value;
});

export type GetOutcome = { readonly value: string | null } | 'unknown';
export type CasOutcome = { readonly succeeded: boolean } | 'unknown';

/**
 * put/get/compare-and-swap through Berth's typed store, each recorded (invoke before the request, ok or unknown
 * after). Any error is an unknown outcome: a failed write may still have been applied, a failed read did nothing
 * (and an unknown get is legal anywhere).
 *
 * The value-based CAS the checker models is a read then a revision-guarded swap: with unique values and no
 * deletes, "the mod revision is still r" is the same as "the value is still what was read", so the swap is
 * linearized at its transaction, and a mismatch at the read is linearized at the read.
 */
export class RecordedKv {
  readonly #store: Store;
  readonly #recorder: HistoryRecorder;

  constructor(store: Store, recorder: HistoryRecorder) {
    this.#store = store;
    this.#recorder = recorder;
  }

  async put(key: string, value: string): Promise<'ok' | 'unknown'> {
    const token = this.#recorder.invoke(key, { kind: 'put', value });
    try {
      await this.#store.put(conformanceKv, key, value);
      this.#recorder.ok(token, {});
      return 'ok';
    } catch {
      this.#recorder.unknown(token);
      return 'unknown';
    }
  }

  async get(key: string): Promise<GetOutcome> {
    const token = this.#recorder.invoke(key, { kind: 'get' });
    try {
      const entry = await this.#store.get(conformanceKv, key);
      const value = entry?.value ?? null;
      this.#recorder.ok(token, { value });
      return { value };
    } catch {
      this.#recorder.unknown(token);
      return 'unknown';
    }
  }

  async cas(key: string, expected: string | null, value: string): Promise<CasOutcome> {
    const token = this.#recorder.invoke(key, { kind: 'cas', expected, value });
    try {
      const entry = await this.#store.get(conformanceKv, key);
      if ((entry?.value ?? null) !== expected) {
        this.#recorder.ok(token, { succeeded: false });
        return { succeeded: false };
      }
      const { swapped } = await this.#store.compareAndSwap(conformanceKv, key, entry?.modRevision ?? absent, value);
      this.#recorder.ok(token, { succeeded: swapped });
      return { succeeded: swapped };
    } catch {
      this.#recorder.unknown(token);
      return 'unknown';
    }
  }
}
