/**
 * The cluster store on three managers in test namespaces, driven from a client host over mTLS with a node
 * certificate: writes/s and p50/p99 latency at 1, 16 and 64 concurrent writers through Berth's typed store, next to
 * plain etcd3 puts (the same client and channel, no Berth layer) on the same cluster in the same run, interleaved;
 * then the time from SIGKILL of the etcd leader to the next committed write, with Berth's tuned raft timing and
 * with etcd's defaults. Not a test: nothing is asserted.
 * Run: node conformance/dist/src/bench/cluster.js [--quick] [--seconds S] [--rounds N] [--trials N] [--result FILE]
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { etcdTimingEtcdDefault, etcdTimingTuned, type EtcdTiming } from '@berth/secrets';
import { Teardowns } from '../harness/index.js';
import { monotonicClock } from '../linearizability/index.js';
import type { BerthdHost } from '../cluster/berthd-host.js';
import type { CommitsResult, LoadJob, ThroughputResult } from '../cluster/load-main.js';
import { cleanEnv, repoRoot } from '../cluster/paths.js';
import { TestCluster } from '../cluster/test-cluster.js';
import { benchEntry, numberArg } from './cli.js';
import { median, percentile, type Measurement } from './result.js';

export interface ClusterBenchOptions {
  readonly levels: readonly number[];
  readonly seconds: number;
  readonly rounds: number;
  readonly failoverTrials: number;
  readonly valueBytes: number;
  /** Leader failover trials on a cluster of each timing (a second cluster for etcd's defaults); off in --quick. */
  readonly failover: boolean;
}

export const defaultClusterBenchOptions: ClusterBenchOptions = { levels: [1, 16, 64], seconds: 5, rounds: 3, failoverTrials: 3, valueBytes: 64, failover: true };
export const quickClusterBenchOptions: ClusterBenchOptions = { levels: [1, 8, 32], seconds: 0.5, rounds: 2, failoverTrials: 1, valueBytes: 64, failover: false };
/** Half a second still holds hundreds of writes at one client here (--quick). */
export const secondsMin = 0.5;
export const secondsMax = 60;
export const roundsMax = 10;
export const trialsMax = 10;

export interface ThroughputSample {
  readonly clients: number;
  readonly mode: 'berth' | 'raw';
  readonly writesPerSecond: number;
  /** Writes/s of each round (the two modes alternate round by round). */
  readonly roundsPerSecond: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

export interface FailoverSample {
  readonly timing: EtcdTiming;
  /** SIGKILL of the leader's etcd → first write invoked after it that committed, per trial (ms). */
  readonly trialsMs: readonly number[];
  readonly medianMs: number;
}

export interface ClusterBenchReport {
  readonly options: ClusterBenchOptions;
  readonly throughput: readonly ThroughputSample[];
  readonly failover: readonly FailoverSample[];
}




/** Runs one load job in the client host's namespace and parses its one line of output. */
function runLoad<T>(cluster: TestCluster, job: LoadJob, timeoutMs: number): Promise<T> {
  const script = join(repoRoot(), 'conformance', 'dist', 'src', 'cluster', 'load-main.js');
  return new Promise((resolve, reject) => {
    execFile('nsenter', [`--net=${cluster.client.host.netns.path}`, '--', process.execPath, script, JSON.stringify(job)], {
      env: cleanEnv({ BERTH_LOG_LEVEL: 'error' }), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`load job failed: ${error.message} ${stderr.slice(0, 1000)}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as T);
      } catch (parseError) {
        reject(new Error(`load job printed no valid result (${stdout.length} bytes): ${String(parseError)}`));
      }
    });
  });
}

function clientTls(cluster: TestCluster): { caFile: string; certFile: string; keyFile: string } {
  // The benchmark's keys are outside a worker's grant: it writes as a manager's store traffic would.
  return cluster.managerTlsFiles();
}

async function measureThroughput(cluster: TestCluster, options: ClusterBenchOptions): Promise<ThroughputSample[]> {
  const samples: ThroughputSample[] = [];
  for (const clients of options.levels) {
    const merged = { berth: [] as number[], raw: [] as number[] };
    const perRound = { berth: [] as number[], raw: [] as number[] };
    const totals = { berth: { ops: 0, seconds: 0, errors: 0 }, raw: { ops: 0, seconds: 0, errors: 0 } };
    for (let round = 0; round < options.rounds; round += 1) {
      const order: Array<'berth' | 'raw'> = round % 2 === 0 ? ['raw', 'berth'] : ['berth', 'raw'];
      for (const mode of order) {
        const result = await runLoad<ThroughputResult>(cluster, {
          kind: 'throughput', mode, concurrency: clients, durationMs: options.seconds * 1000, endpoints: cluster.endpoints,
          tls: clientTls(cluster), valueBytes: options.valueBytes,
        }, options.seconds * 1000 + 60_000);
        merged[mode].push(...result.latenciesMs);
        perRound[mode].push(result.ops / result.seconds);
        totals[mode].ops += result.ops;
        totals[mode].seconds += result.seconds;
        totals[mode].errors += result.errors;
      }
    }
    for (const mode of ['berth', 'raw'] as const) {
      const sorted = merged[mode].sort((a, b) => a - b);
      samples.push({
        clients, mode, writesPerSecond: totals[mode].ops / totals[mode].seconds, roundsPerSecond: perRound[mode],
        p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), errors: totals[mode].errors,
      });
    }
  }
  return samples;
}

async function healthyMembers(manager: BerthdHost): Promise<number> {
  const hosts = await manager.hosts().catch(() => []);
  return hosts.filter((host) => host.member?.healthy === true).length;
}

async function measureFailover(cluster: TestCluster, trials: number, timing: EtcdTiming): Promise<FailoverSample> {
  const trialsMs: number[] = [];
  for (let trial = 0; trial < trials; trial += 1) {
    const leader = await cluster.leader();
    const followers = cluster.peersOf(leader).map((manager) => [`https://${manager.host.address}:2379`]);
    // three writer loops per surviving member, each pinned to it, with a short deadline so a write stuck on the
    // election is soon replaced by a new one
    const loops = [...followers, ...followers, ...followers];
    const job = runLoad<CommitsResult>(cluster, { kind: 'commits', loops, durationMs: 9_000, requestTimeoutMs: 250, tls: clientTls(cluster) }, 60_000);
    await sleep(2_500);
    const [etcd] = await leader.etcdProcesses();
    if (etcd === undefined) throw new Error(`no etcd process on ${leader.host.name}`);
    const killMs = monotonicClock.nowMs();
    process.kill(etcd.pid, 'SIGKILL');
    const { commits } = await job;
    const after = commits.filter(([callMs]) => callMs >= killMs).map(([, returnMs]) => returnMs - killMs);
    if (after.length > 0) trialsMs.push(Math.min(...after));
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && (await healthyMembers(leader)) < 3;) await sleep(250);
    await sleep(1_000);
  }
  return { timing, trialsMs, medianMs: median(trialsMs) };
}

/** On its own cluster(s), or with `shared` on that one (whose members it must then not kill: no failover trials). */
export async function benchCluster(options: ClusterBenchOptions = defaultClusterBenchOptions, shared?: TestCluster): Promise<ClusterBenchReport> {
  if (options.seconds < secondsMin || options.seconds > secondsMax || options.rounds < 1 || options.rounds > roundsMax || options.failoverTrials < 1 || options.failoverTrials > trialsMax) {
    throw new RangeError('cluster bench: seconds 0.5..60, rounds 1..10, trials 1..10');
  }
  if (shared !== undefined && options.failover) throw new RangeError('cluster bench: failover trials kill members, so they need a cluster of their own');
  const failover: FailoverSample[] = [];
  let throughput: ThroughputSample[] = [];
  const tunedTeardowns = new Teardowns();
  try {
    const tuned = shared ?? await TestCluster.start(tunedTeardowns, { managers: 3 });
    throughput = await measureThroughput(tuned, options);
    if (options.failover) failover.push(await measureFailover(tuned, options.failoverTrials, etcdTimingTuned));
  } finally {
    await tunedTeardowns.run();
  }
  if (!options.failover) return { options, throughput, failover };
  const defaultTeardowns = new Teardowns();
  try {
    const args = ['--heartbeat-ms', String(etcdTimingEtcdDefault.heartbeatIntervalMs), '--election-ms', String(etcdTimingEtcdDefault.electionTimeoutMs)];
    const defaults = await TestCluster.start(defaultTeardowns, { managers: 3, managerArgs: args });
    failover.push(await measureFailover(defaults, options.failoverTrials, etcdTimingEtcdDefault));
  } finally {
    await defaultTeardowns.run();
  }
  return { options, throughput, failover };
}

export function formatClusterReport(report: ClusterBenchReport): string {
  const o = report.options;
  const lines = [
    `cluster store writes: 3 managers in namespaces, client host over mTLS, ${o.valueBytes}-byte values, ${o.seconds} s × ${o.rounds} rounds per mode, interleaved`,
    'clients   berth writes/s   p50 ms   p99 ms   raw puts/s   p50 ms   p99 ms   berth/raw',
  ];
  for (const clients of o.levels) {
    const berth = report.throughput.find((s) => s.clients === clients && s.mode === 'berth');
    const raw = report.throughput.find((s) => s.clients === clients && s.mode === 'raw');
    if (berth === undefined || raw === undefined) continue;
    lines.push([
      String(clients).padStart(7), berth.writesPerSecond.toFixed(0).padStart(16), berth.p50Ms.toFixed(1).padStart(8), berth.p99Ms.toFixed(1).padStart(8),
      raw.writesPerSecond.toFixed(0).padStart(12), raw.p50Ms.toFixed(1).padStart(8), raw.p99Ms.toFixed(1).padStart(8),
      (berth.writesPerSecond / raw.writesPerSecond).toFixed(2).padStart(11),
    ].join(' ') + (berth.errors + raw.errors > 0 ? `   (errors: berth ${berth.errors}, raw ${raw.errors})` : ''));
  }
  if (report.failover.length === 0) lines.push('leader failover: not measured (--quick)');
  else lines.push('leader etcd SIGKILL → next committed write (writes invoked after the kill, 250 ms client deadline):');
  for (const sample of report.failover) {
    const label = sample.timing.electionTimeoutMs === etcdTimingTuned.electionTimeoutMs ? 'Berth tuned ' : 'etcd default';
    lines.push(`  ${label} (heartbeat ${sample.timing.heartbeatIntervalMs} ms, election ${sample.timing.electionTimeoutMs} ms): median ${sample.medianMs.toFixed(0)} ms  trials ${sample.trialsMs.map((ms) => ms.toFixed(0)).join(', ')}`);
  }
  return lines.join('\n');
}

export function clusterMeasurements(report: ClusterBenchReport): Measurement[] {
  return [
    ...report.throughput.map((sample) => ({
      metric: 'store writes', unit: 'writes/s', side: sample.mode === 'berth' ? "Berth's typed store" : 'raw etcd puts', size: sample.clients, sizeName: 'clients',
      samples: sample.roundsPerSecond,
    })),
    ...report.failover.map((sample) => ({
      metric: 'leader kill to next commit', unit: 'ms', samples: sample.trialsMs,
      side: `${sample.timing.electionTimeoutMs === etcdTimingTuned.electionTimeoutMs ? 'Berth tuned' : 'etcd default'} (election ${sample.timing.electionTimeoutMs} ms)`,
    })),
  ];
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => {
    const base = quick ? quickClusterBenchOptions : defaultClusterBenchOptions;
    return benchCluster({
      ...base,
      seconds: numberArg(argv, '--seconds', base.seconds),
      rounds: numberArg(argv, '--rounds', base.rounds),
      failoverTrials: numberArg(argv, '--trials', base.failoverTrials),
    });
  },
  format: formatClusterReport,
  measurements: clusterMeasurements,
});
