/**
 * iperf3 TCP throughput between two containers on two simulated hosts: over the berth-vxlan overlay (VXLAN on the
 * underlay), and the same pair over a plain bridge+route path (the same plugin with directRouting: each host routes
 * the other's subnet via its underlay address, no encapsulation). Runs interleaved; prints medians and the ratio.
 * Not a test: nothing is asserted. Run: node conformance/dist/src/bench/overlay.js [--runs N] [--seconds S]
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { OverlayCluster, type ClusterContainer } from '../overlay/cluster.js';
import type { TeardownRegistry } from '../harness/index.js';

export interface OverlayBenchOptions {
  readonly runs: number;
  readonly seconds: number;
}

export const runsMax = 20;
export const secondsMax = 30;
export const defaultOverlayBenchOptions: OverlayBenchOptions = { runs: 3, seconds: 5 };

export interface PathSample {
  readonly path: string;
  readonly gbitsPerSecond: readonly number[];
  readonly medianGbits: number;
  readonly mtu: number;
}

export interface OverlayBenchReport {
  readonly options: OverlayBenchOptions;
  readonly overlay: PathSample;
  readonly plain: PathSample;
  /** overlay median / plain median. */
  readonly ratio: number;
}

class Teardowns implements TeardownRegistry {
  readonly #steps: (() => unknown)[] = [];
  teardown(fn: () => unknown): void {
    this.#steps.push(fn);
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try { await step(); } catch (error) { process.stderr.write(`bench teardown: ${String(error)}\n`); }
    }
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** One iperf3 run from `client` to a one-off server in `server`; the receiver's throughput in Gbit/s. */
async function iperf(registry: TeardownRegistry, client: ClusterContainer, server: ClusterContainer, seconds: number): Promise<number> {
  const child = spawn('nsenter', [`--net=${server.netns.path}`, '--', 'iperf3', '-s', '-1', '-p', '5201', '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  registry.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('iperf3 server did not start within 10 s')), 10_000);
    child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString('utf8').includes('Server listening')) { clearTimeout(timer); resolve(); } });
    child.on('close', (code) => { clearTimeout(timer); reject(new Error(`iperf3 server exited with ${code}`)); });
  });
  const result = await client.netns.exec(['iperf3', '-c', server.address, '-p', '5201', '-t', String(seconds), '-J', '--connect-timeout', '5000'],
    { timeoutMs: (seconds + 20) * 1000 });
  if (result.code !== 0) throw new Error(`iperf3 client exited with ${result.code}: ${result.stdout.slice(0, 300)}${result.stderr}`);
  const json = JSON.parse(result.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
  const bits = json.end?.sum_received?.bits_per_second;
  if (bits === undefined) throw new Error('iperf3 printed no receiver throughput');
  await new Promise((resolve) => { if (child.exitCode !== null) resolve(undefined); else child.on('close', resolve); });
  return bits / 1e9;
}

async function pairOn(registry: TeardownRegistry, directRouting: boolean): Promise<{ client: ClusterContainer; server: ClusterContainer; mtu: number }> {
  const cluster = await OverlayCluster.create(registry, { hosts: 2, directRouting });
  const client = await cluster.addContainer(0, 'bench-client');
  const server = await cluster.addContainer(1, 'bench-server');
  const link = JSON.parse(await client.netns.execChecked(['ip', '-j', 'link', 'show', 'eth0'])) as { mtu: number }[];
  return { client, server, mtu: link[0]?.mtu ?? Number.NaN };
}

export async function benchOverlay(options: OverlayBenchOptions = defaultOverlayBenchOptions): Promise<OverlayBenchReport> {
  if (!(Number.isInteger(options.runs) && options.runs >= 1 && options.runs <= runsMax)) throw new RangeError(`runs must be 1-${runsMax}`);
  if (!(Number.isInteger(options.seconds) && options.seconds >= 1 && options.seconds <= secondsMax)) throw new RangeError(`seconds must be 1-${secondsMax}`);
  const teardowns = new Teardowns();
  try {
    const overlayPair = await pairOn(teardowns, false);
    const plainPair = await pairOn(teardowns, true);
    const overlay: number[] = [];
    const plain: number[] = [];
    for (let run = 0; run < options.runs; run += 1) {
      overlay.push(await iperf(teardowns, overlayPair.client, overlayPair.server, options.seconds));
      plain.push(await iperf(teardowns, plainPair.client, plainPair.server, options.seconds));
    }
    const overlaySample = { path: 'overlay (VXLAN, berth-vxlan)', gbitsPerSecond: overlay, medianGbits: median(overlay), mtu: overlayPair.mtu };
    const plainSample = { path: 'bridge+route (directRouting)', gbitsPerSecond: plain, medianGbits: median(plain), mtu: plainPair.mtu };
    return { options, overlay: overlaySample, plain: plainSample, ratio: overlaySample.medianGbits / plainSample.medianGbits };
  } finally {
    await teardowns.run();
  }
}

export function formatOverlayReport(report: OverlayBenchReport): string {
  const lines = [
    `iperf3 TCP, container on host 1 -> container on host 2, ${report.options.runs} run(s) of ${report.options.seconds} s each, interleaved`,
    '',
    `${'path'.padEnd(32)}${'MTU'.padStart(6)}${'median'.padStart(14)}   runs`,
  ];
  for (const sample of [report.overlay, report.plain]) {
    lines.push(`${sample.path.padEnd(32)}${String(sample.mtu).padStart(6)}${`${sample.medianGbits.toFixed(2)} Gbit/s`.padStart(14)}   ${sample.gbitsPerSecond.map((value) => value.toFixed(2)).join(' ')}`);
  }
  lines.push('', `ratio overlay / bridge+route: ${report.ratio.toFixed(2)}x`);
  return `${lines.join('\n')}\n`;
}

function numberArg(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(name);
  return index >= 0 ? Number(argv[index + 1]) : fallback;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = {
    runs: numberArg(process.argv, '--runs', defaultOverlayBenchOptions.runs),
    seconds: numberArg(process.argv, '--seconds', defaultOverlayBenchOptions.seconds),
  };
  benchOverlay(options).then((report) => process.stdout.write(formatOverlayReport(report)), (error: unknown) => {
    process.stderr.write(`overlay benchmark failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
