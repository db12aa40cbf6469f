import type { RecordedKv } from './recorded-kv.js';

export interface WorkloadOptions {
  readonly clientId: number;
  readonly keys: readonly string[];
  /** The workload stops at whichever limit comes first. */
  readonly durationMs: number;
  readonly opsMax: number;
  /** Pause between operations, so a few clients do not saturate two cores shared with three etcd members. */
  readonly pauseMs: number;
  readonly seed: number;
}

export interface WorkloadSummary {
  readonly operations: number;
  readonly ok: number;
  readonly unknown: number;
  readonly writesAcknowledged: number;
}

/** mulberry32: a small seeded PRNG, so a run's sequence of choices can be replayed from its printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A bounded random mix of get (40 %), put (30 %) and compare-and-swap (30 %) on a few keys, with values unique per
 * client and operation; ends with one read of every key.
 */
export async function runWorkload(kv: RecordedKv, options: WorkloadOptions): Promise<WorkloadSummary> {
  if (options.keys.length === 0 || options.opsMax < 1 || options.durationMs < 1) throw new RangeError('workload needs keys and positive limits');
  const random = seededRandom(options.seed);
  const lastSeen = new Map<string, string | null>();
  const deadline = Date.now() + options.durationMs;
  let operations = 0;
  let ok = 0;
  let unknown = 0;
  let writesAcknowledged = 0;
  const count = (outcome: unknown, write: boolean): void => {
    operations += 1;
    if (outcome === 'unknown') unknown += 1;
    else {
      ok += 1;
      if (write && (outcome === 'ok' || (outcome as { succeeded?: boolean }).succeeded === true)) writesAcknowledged += 1;
    }
  };
  while (operations < options.opsMax && Date.now() < deadline) {
    const key = options.keys[Math.floor(random() * options.keys.length)] ?? 'k0';
    const value = `c${options.clientId}-${operations}`;
    const choice = random();
    if (choice < 0.4) {
      const outcome = await kv.get(key);
      if (outcome !== 'unknown') lastSeen.set(key, outcome.value);
      count(outcome, false);
    } else if (choice < 0.7) {
      count(await kv.put(key, value), true);
    } else {
      count(await kv.cas(key, lastSeen.get(key) ?? null, value), true);
    }
    if (options.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
  }
  for (const key of options.keys) count(await kv.get(key), false);
  return { operations, ok, unknown, writesAcknowledged };
}
