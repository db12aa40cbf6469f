/**
 * Load generator for the cluster benchmark, run inside the client host's namespace. argv[2] is a JSON job; one JSON
 * line of results goes to stdout. `throughput`: N concurrent writers for a fixed time, through Berth's typed store
 * or as plain etcd3 puts (the same client and channel underneath, no Berth layer). `commits`: writer loops (each with its own
 * endpoints) that report every committed write's call and return time on the host's monotonic clock.
 */
import { readFileSync } from 'node:fs';
import { EtcdKvStore, keyspaceRoot, Store } from '@berth/secrets';
import { monotonicClock } from '../linearizability/index.js';
import { conformanceKv } from './recorded-kv.js';

interface Tls { readonly caFile: string; readonly certFile: string; readonly keyFile: string }

export type LoadJob =
  | { readonly kind: 'throughput'; readonly mode: 'berth' | 'raw'; readonly concurrency: number; readonly durationMs: number; readonly endpoints: readonly string[]; readonly tls: Tls; readonly valueBytes: number }
  | { readonly kind: 'commits'; readonly loops: readonly (readonly string[])[]; readonly durationMs: number; readonly requestTimeoutMs: number; readonly tls: Tls };

export interface ThroughputResult { readonly ops: number; readonly errors: number; readonly seconds: number; readonly latenciesMs: readonly number[] }
export interface CommitsResult { readonly commits: ReadonlyArray<readonly [number, number]>; readonly errors: number }

const concurrencyMax = 256;
const latencySamplesMax = 200_000;

function readTls(tls: Tls): { caPem: string; certPem: string; keyPem: string } {
  return { caPem: readFileSync(tls.caFile, 'utf8'), certPem: readFileSync(tls.certFile, 'utf8'), keyPem: readFileSync(tls.keyFile, 'utf8') };
}

async function throughput(job: Extract<LoadJob, { kind: 'throughput' }>): Promise<ThroughputResult> {
  if (job.concurrency < 1 || job.concurrency > concurrencyMax) throw new RangeError(`concurrency must be 1..${concurrencyMax}`);
  const tls = readTls(job.tls);
  const value = 'v'.repeat(job.valueBytes);
  let write: (client: number, n: number) => Promise<unknown>;
  let close: () => Promise<void>;
  if (job.mode === 'berth') {
    const kv = new EtcdKvStore({ endpoints: job.endpoints, tls });
    const store = new Store(kv);
    write = (client, n) => store.put(conformanceKv, `bench-berth-${client}-${n % 16}`, value);
    close = () => kv.close();
  } else {
    // The etcd3 client underneath Berth's store, same channel and certificate, called directly: a plain put (under
    // /berth/v1/, the only range a manager's etcd role covers).
    const kv = new EtcdKvStore({ endpoints: job.endpoints, tls });
    write = (client, n) => kv.client.put(`${keyspaceRoot}conformance/bench-raw/${client}/${n % 16}`).value(JSON.stringify(value)).exec();
    close = () => kv.close();
  }
  // warm up every connection before timing
  await Promise.all(Array.from({ length: Math.min(job.concurrency, 4) }, (_, i) => write(i, 0)));
  const latenciesMs: number[] = [];
  let ops = 0;
  let errors = 0;
  const startMs = monotonicClock.nowMs();
  const endMs = startMs + job.durationMs;
  await Promise.all(Array.from({ length: job.concurrency }, async (_, client) => {
    for (let n = 0; monotonicClock.nowMs() < endMs; n += 1) {
      const callMs = monotonicClock.nowMs();
      try {
        await write(client, n);
        ops += 1;
        if (latenciesMs.length < latencySamplesMax) latenciesMs.push(Math.round((monotonicClock.nowMs() - callMs) * 100) / 100);
      } catch {
        errors += 1;
      }
    }
  }));
  const seconds = (monotonicClock.nowMs() - startMs) / 1000;
  await close();
  return { ops, errors, seconds, latenciesMs };
}

async function commits(job: Extract<LoadJob, { kind: 'commits' }>): Promise<CommitsResult> {
  const tls = readTls(job.tls);
  const found: Array<readonly [number, number]> = [];
  let errors = 0;
  const endMs = monotonicClock.nowMs() + job.durationMs;
  await Promise.all(job.loops.map(async (endpoints, loop) => {
    const kv = new EtcdKvStore({ endpoints, tls, limits: { requestTimeoutMs: job.requestTimeoutMs, dialTimeoutMs: job.requestTimeoutMs } });
    const store = new Store(kv);
    for (let n = 0; monotonicClock.nowMs() < endMs; n += 1) {
      const callMs = monotonicClock.nowMs();
      try {
        await store.put(conformanceKv, `failover-${loop}`, String(n));
        found.push([callMs, monotonicClock.nowMs()]);
      } catch {
        errors += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await kv.close();
  }));
  return { commits: found, errors };
}

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
process.on('warning', () => undefined);
const result = job.kind === 'throughput' ? await throughput(job) : await commits(job);
// stdout is a pipe (asynchronous): exit only once the line is flushed, or the reader gets half of it
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
