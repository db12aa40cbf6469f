/**
 * Secrets on three managers in test namespaces (plus a worker host): `secret create` and `secret rotate` through a
 * manager's berthd API (the CLI's path: unix socket, JSON, sealing with a fresh data key, one etcd transaction with
 * its preconditions and audit entry) at 1, 16 and 64 concurrent clients, next to raw etcd puts of the same value size
 * from the same manager host (the etcd3 client, no Berth layer); the ratio is the cost of sealing and checks. Then
 * the time from `rotate` returning to the new file in place in a container's tmpfs on the worker host.
 * Not a test: nothing is asserted.
 * Run: node conformance/dist/src/bench/secrets.js [--quick] [--seconds S] [--bytes N] [--rotations N] [--rounds N] [--result FILE]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monotonicClock } from '../linearizability/index.js';
import type { LoadJob, ThroughputResult } from '../cluster/load-main.js';
import { cleanEnv, repoRoot } from '../cluster/paths.js';
import { TestCluster } from '../cluster/test-cluster.js';
import type { BerthdHost } from '../cluster/berthd-host.js';
import { Teardowns } from '../harness/index.js';
import { benchEntry, numberArg } from './cli.js';
import { median, percentile, type Measurement } from './result.js';
import { interleaved } from './rounds.js';

export interface SecretsBenchOptions {
  readonly levels: readonly number[];
  readonly seconds: number;
  readonly valueBytes: number;
  readonly rotations: number;
  /** Interleaved rounds (raw, create, rotate in turn) per client count, after `warmups` unrecorded ones. */
  readonly rounds: number;
  readonly warmups: number;
}

export const defaultSecretsBenchOptions: SecretsBenchOptions = { levels: [1, 16, 64], seconds: 3, valueBytes: 1024, rotations: 100, rounds: 3, warmups: 1 };
export const quickSecretsBenchOptions: SecretsBenchOptions = { levels: [1, 8, 32], seconds: 0.5, valueBytes: 1024, rotations: 30, rounds: 2, warmups: 0 };

interface Rate { readonly perSecond: number; readonly p50Ms: number; readonly p99Ms: number; readonly errors: number }
type Side = 'raw' | 'create' | 'rotate';
const sides: readonly Side[] = ['raw', 'create', 'rotate'];
export interface SecretsBenchReport {
  readonly options: SecretsBenchOptions;
  /** Per client count: every round's rate of each side (the report shows their medians). */
  readonly rows: ReadonlyArray<{ clients: number; rounds: Readonly<Record<Side, readonly Rate[]>> }>;
  readonly delivery: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly samples: number; readonly latenciesMs: readonly number[] };
  /** One local API round trip that touches no store (`GET /healthz`), one client: the part of every call that is not secrets. */
  readonly apiBaseline: Rate;
}


/** Medians over rounds of each figure; errors summed. */
function overRounds(rates: readonly Rate[]): Rate {
  return {
    perSecond: median(rates.map((r) => r.perSecond)), p50Ms: median(rates.map((r) => r.p50Ms)), p99Ms: median(rates.map((r) => r.p99Ms)),
    errors: rates.reduce((sum, r) => sum + r.errors, 0),
  };
}

function rate(ops: number, seconds: number, latencies: number[], errors: number): Rate {
  const sorted = latencies.sort((a, b) => a - b);
  return { perSecond: ops / seconds, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), errors };
}

/** `clients` loops calling `op(client, n)` for `seconds`. */
async function drive(clients: number, seconds: number, op: (client: number, n: number) => Promise<unknown>): Promise<Rate> {
  const latencies: number[] = [];
  let ops = 0;
  let errors = 0;
  const start = monotonicClock.nowMs();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let n = 0; monotonicClock.nowMs() < end; n += 1) {
      const call = monotonicClock.nowMs();
      try {
        await op(client, n);
        ops += 1;
        latencies.push(monotonicClock.nowMs() - call);
      } catch {
        errors += 1;
      }
    }
  }));
  return rate(ops, (monotonicClock.nowMs() - start) / 1000, latencies, errors);
}

/** Raw etcd puts from inside the manager's namespace, with its node certificate (load-main's `raw` mode). */
function rawPuts(cluster: TestCluster, manager: BerthdHost, clients: number, options: SecretsBenchOptions): Promise<Rate> {
  const dir = join(manager.root, 'cluster');
  const job: LoadJob = {
    kind: 'throughput', mode: 'raw', concurrency: clients, durationMs: options.seconds * 1000, endpoints: cluster.endpoints,
    tls: { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'node.crt'), keyFile: join(dir, 'node.key') }, valueBytes: options.valueBytes,
  };
  const script = join(repoRoot(), 'conformance', 'dist', 'src', 'cluster', 'load-main.js');
  return new Promise((resolve, reject) => {
    execFile('nsenter', [`--net=${manager.host.netns.path}`, '--', process.execPath, script, JSON.stringify(job)], {
      env: cleanEnv({ BERTH_LOG_LEVEL: 'error' }), timeout: options.seconds * 1000 + 60_000, maxBuffer: 64 * 1024 * 1024,
    }, (error, stdout) => {
      if (error !== null) return reject(error);
      const result = JSON.parse(stdout) as ThroughputResult;
      resolve(rate(result.ops, result.seconds, [...result.latenciesMs], result.errors));
    });
  });
}

async function measureDelivery(manager: BerthdHost, worker: BerthdHost, options: SecretsBenchOptions): Promise<SecretsBenchReport['delivery']> {
  await manager.api('POST', '/v1/secrets', { name: 'bench-delivery', value: randomBytes(options.valueBytes).toString('base64') });
  await manager.api('POST', '/v1/secrets/bench-delivery/grants', { service: 'bench' });
  await worker.api('POST', '/v1/tasks', { containerId: 'bench-c1', service: 'bench', labels: {} });
  const file = join(worker.runDir, 'secrets', 'bench-c1', 'bench-delivery');
  const samples: number[] = [];
  try {
    for (let i = 0; i < options.rotations; i += 1) {
      const value = randomBytes(options.valueBytes);
      await manager.api('POST', '/v1/secrets/bench-delivery/rotate', { value: value.toString('base64') });
      const returned = monotonicClock.nowMs();
      for (let polls = 0; polls < 100_000; polls += 1) {
        const seen = await readFile(file).catch(() => undefined);
        if (seen?.equals(value) === true) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      samples.push(monotonicClock.nowMs() - returned);
    }
  } finally {
    await worker.api('DELETE', '/v1/tasks/bench-c1');
  }
  const sorted = samples.sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: sorted.at(-1) ?? NaN, samples: sorted.length, latenciesMs: sorted };
}

/** On a cluster of its own, or on `shared`. */
export async function benchSecrets(options: SecretsBenchOptions = defaultSecretsBenchOptions, shared?: TestCluster): Promise<SecretsBenchReport> {
  if (options.seconds < 0.5 || options.seconds > 60 || options.valueBytes < 1 || options.valueBytes > 500 * 1024 || options.rotations < 1 || options.rotations > 10_000
    || !Number.isInteger(options.rounds) || options.rounds < 1 || options.rounds > 20 || !Number.isInteger(options.warmups) || options.warmups < 0 || options.warmups > 5) {
    throw new RangeError('secrets bench: seconds 0.5..60, bytes 1..512000, rotations 1..10000, rounds 1..20, warm-ups 0..5');
  }
  const teardowns = new Teardowns();
  try {
    const cluster = shared ?? await TestCluster.start(teardowns, { managers: 3 });
    const manager = cluster.managers[0];
    if (manager === undefined) throw new Error('no manager');
    const value = (): string => randomBytes(options.valueBytes).toString('base64');
    const apiBaseline = await drive(1, 1, () => manager.api('GET', '/healthz'));
    const rows: Array<SecretsBenchReport['rows'][number]> = [];
    for (const [level, clients] of options.levels.entries()) {
      // The secrets the rotate side rotates, made first: the side order changes every round.
      for (let client = 0; client < clients; client += 1) await manager.api('POST', '/v1/secrets', { name: `r${level}-${client}`, value: value() });
      const rates: Record<Side, Rate[]> = { raw: [], create: [], rotate: [] };
      await interleaved(sides, { rounds: options.rounds, warmups: options.warmups }, async (side, round) => {
        const measured = side === 'raw' ? await rawPuts(cluster, manager, clients, options)
          : side === 'create' ? await drive(clients, options.seconds, (client, n) => manager.api('POST', '/v1/secrets', { name: `b${level}-${round + 1}-${client}-${n}`, value: value() }))
          : await drive(clients, options.seconds, (client) => manager.api('POST', `/v1/secrets/r${level}-${client}/rotate`, { value: value() }));
        if (round >= 0) rates[side].push(measured);
        return measured.perSecond;
      });
      rows.push({ clients, rounds: rates });
    }
    return { options, rows, apiBaseline, delivery: await measureDelivery(manager, cluster.client, options) };
  } finally {
    const failures = await teardowns.run();
    if (failures.length > 0) process.stderr.write(`secrets bench teardown: ${failures.join('; ')}\n`);
  }
}

export function formatSecretsReport(report: SecretsBenchReport): string {
  const o = report.options;
  const cell = (r: Rate): string => `${r.perSecond.toFixed(0).padStart(7)} ${r.p50Ms.toFixed(1).padStart(6)} ${r.p99Ms.toFixed(1).padStart(6)}`;
  const lines = [
    `secrets: 3 managers + a worker in namespaces; ${o.valueBytes}-byte values; ${o.seconds} s windows, ${o.rounds} interleaved rounds after ${o.warmups} warm-up round(s) (medians); berth = manager's berthd API (seal + txn + audit), raw = etcd put from the same host`,
    'clients | create/s  p50  p99 | rotate/s  p50  p99 | raw put/s  p50  p99 | create/raw rotate/raw',
  ];
  for (const { clients, rounds } of report.rows) {
    const row = { clients, create: overRounds(rounds.create), rotate: overRounds(rounds.rotate), raw: overRounds(rounds.raw) };
    lines.push(`${String(row.clients).padStart(7)} | ${cell(row.create)} | ${cell(row.rotate)} | ${cell(row.raw)} | ${(row.create.perSecond / row.raw.perSecond).toFixed(2).padStart(10)} ${(row.rotate.perSecond / row.raw.perSecond).toFixed(2).padStart(10)}`
      + (row.create.errors + row.rotate.errors + row.raw.errors > 0 ? `  (errors: ${row.create.errors}/${row.rotate.errors}/${row.raw.errors})` : ''));
  }
  lines.push(`local API round trip without the store (GET /healthz, 1 client): p50 ${report.apiBaseline.p50Ms.toFixed(1)} ms, p99 ${report.apiBaseline.p99Ms.toFixed(1)} ms`);
  const d = report.delivery;
  lines.push(`rotate returned → new file in place on the worker's tmpfs: p50 ${d.p50Ms.toFixed(1)} ms, p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms over ${d.samples} rotations`);
  return lines.join('\n');
}

export function secretsMeasurements(report: SecretsBenchReport): Measurement[] {
  const cells = report.rows.flatMap((row) => ([['secret create (berthd API)', row.rounds.create], ['secret rotate (berthd API)', row.rounds.rotate], ['raw etcd put', row.rounds.raw]] as const)
    .map(([side, rates]) => ({ metric: 'secret writes', unit: 'writes/s', side, size: row.clients, sizeName: 'clients', samples: rates.map((rate) => rate.perSecond) })));
  return [...cells, { metric: 'rotate to visible', unit: 'ms', side: "worker's tmpfs", samples: report.delivery.latenciesMs }];
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => {
    const base = quick ? quickSecretsBenchOptions : defaultSecretsBenchOptions;
    return benchSecrets({
      ...base,
      seconds: numberArg(argv, '--seconds', base.seconds),
      valueBytes: numberArg(argv, '--bytes', base.valueBytes),
      rotations: numberArg(argv, '--rotations', base.rotations),
      rounds: numberArg(argv, '--rounds', base.rounds),
    });
  },
  format: formatSecretsReport,
  measurements: secretsMeasurements,
});
