/**
 * iperf3 TCP throughput between two containers on two simulated hosts: over the berth-vxlan overlay (VXLAN on the
 * underlay), the same pair over a plain bridge+route path (the same plugin with directRouting: each host routes
 * the other's subnet via its underlay address, no encapsulation), and host to host over the kernel's own VXLAN built
 * by hand (the physical limit of encapsulation here). Runs interleaved after a warm-up; prints medians and ratios.
 * Not a test: nothing is asserted. Run: node conformance/dist/src/bench/overlay.js [--quick] [--runs N] [--seconds S] [--result FILE]
 */
import { spawn } from 'node:child_process';
import { OverlayCluster, type ClusterContainer } from '../overlay/cluster.js';
import { Teardowns, type TeardownRegistry } from '../harness/index.js';
import { benchEntry, numberArg } from './cli.js';
import { median } from './result.js';
import { interleaved } from './rounds.js';

export interface OverlayBenchOptions {
  readonly runs: number;
  readonly seconds: number;
}

export const runsMax = 20;
export const secondsMax = 30;
export const defaultOverlayBenchOptions: OverlayBenchOptions = { runs: 3, seconds: 5 };
const quickOverlayBenchOptions: OverlayBenchOptions = { runs: 2, seconds: 1 };

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
  /** The kernel's own VXLAN between the two hosts, built by hand (no CNI, no container veth): the physical limit. */
  readonly kernel: PathSample;
  /** overlay median / plain median. */
  readonly ratio: number;
  /** overlay median / kernel VXLAN median. */
  readonly kernelRatio: number;
}



/** Where iperf3 runs: a namespace and the address it is reached at. */
interface Endpoint {
  readonly netns: ClusterContainer['netns'];
  readonly address: string;
}

interface Pair {
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly mtu: number;
}

const kernelVni = 4242;
const kernelPort = 4790;

/**
 * The kernel's own VXLAN between hosts 1 and 2 of `cluster`, set up by hand in their namespaces (its own VNI and
 * port, beside berth-vxlan's), addressed 10.124.0.N: iperf3 then runs host to host over it, no CNI and no veth.
 */
async function kernelPair(cluster: OverlayCluster): Promise<Pair> {
  const [first, second] = cluster.hosts;
  if (first === undefined || second === undefined) throw new Error('the overlay cluster has fewer than two hosts');
  const ends = [[first, second, '10.124.0.1'], [second, first, '10.124.0.2']] as const;
  for (const [host, peer, address] of ends) {
    await host.netns.execChecked(['sh', '-c', `ip link add bvk0 type vxlan id ${kernelVni} dstport ${kernelPort} local ${host.address} remote ${peer.address} dev eth0 && ` +
      `ip addr add ${address}/24 dev bvk0 && ip link set bvk0 up`]);
  }
  const link = JSON.parse(await first.netns.execChecked(['ip', '-j', 'link', 'show', 'bvk0'])) as { mtu: number }[];
  return { client: { netns: first.netns, address: '10.124.0.1' }, server: { netns: second.netns, address: '10.124.0.2' }, mtu: link[0]?.mtu ?? Number.NaN };
}

/** One iperf3 run from `client` to a one-off server in `server`; the receiver's throughput in Gbit/s. */
async function iperf(registry: TeardownRegistry, client: Endpoint, server: Endpoint, seconds: number): Promise<number> {
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

async function pairOn(cluster: OverlayCluster): Promise<Pair> {
  const client = await cluster.addContainer(0, 'bench-client');
  const server = await cluster.addContainer(1, 'bench-server');
  const link = JSON.parse(await client.netns.execChecked(['ip', '-j', 'link', 'show', 'eth0'])) as { mtu: number }[];
  return { client, server, mtu: link[0]?.mtu ?? Number.NaN };
}

const warmupSeconds = 1;

export async function benchOverlay(options: OverlayBenchOptions = defaultOverlayBenchOptions): Promise<OverlayBenchReport> {
  if (!(Number.isInteger(options.runs) && options.runs >= 1 && options.runs <= runsMax)) throw new RangeError(`runs must be 1-${runsMax}`);
  if (!(Number.isInteger(options.seconds) && options.seconds >= 1 && options.seconds <= secondsMax)) throw new RangeError(`seconds must be 1-${secondsMax}`);
  const teardowns = new Teardowns();
  try {
    const overlayCluster = await OverlayCluster.create(teardowns, { hosts: 2, directRouting: false });
    const paths = [
      { path: 'overlay (VXLAN, berth-vxlan)', pair: await pairOn(overlayCluster) },
      { path: 'bridge+route (directRouting)', pair: await pairOn(await OverlayCluster.create(teardowns, { hosts: 2, directRouting: true })) },
      { path: "kernel VXLAN by hand, host to host", pair: await kernelPair(overlayCluster) },
    ];
    const runs = await interleaved(paths, { rounds: options.runs, warmups: 1 },
      ({ pair }, round) => iperf(teardowns, pair.client, pair.server, round < 0 ? warmupSeconds : options.seconds));
    const [overlay, plain, kernel] = paths.map(({ path, pair }, index) => {
      const gbitsPerSecond = runs[index] ?? [];
      return { path, gbitsPerSecond, medianGbits: median(gbitsPerSecond), mtu: pair.mtu };
    }) as unknown as [PathSample, PathSample, PathSample];
    return { options, overlay, plain, kernel, ratio: overlay.medianGbits / plain.medianGbits, kernelRatio: overlay.medianGbits / kernel.medianGbits };
  } finally {
    for (const failure of await teardowns.run()) process.stderr.write(`bench teardown: ${failure}\n`);
  }
}

export function formatOverlayReport(report: OverlayBenchReport): string {
  const lines = [
    `iperf3 TCP, container on host 1 -> container on host 2, ${report.options.runs} run(s) of ${report.options.seconds} s each, interleaved`,
    '',
    `${'path'.padEnd(36)}${'MTU'.padStart(6)}${'median'.padStart(14)}   runs`,
  ];
  for (const sample of [report.overlay, report.plain, report.kernel]) {
    lines.push(`${sample.path.padEnd(36)}${String(sample.mtu).padStart(6)}${`${sample.medianGbits.toFixed(2)} Gbit/s`.padStart(14)}   ${sample.gbitsPerSecond.map((value) => value.toFixed(2)).join(' ')}`);
  }
  lines.push('', `ratio overlay / bridge+route: ${report.ratio.toFixed(2)}x; overlay / kernel VXLAN: ${report.kernelRatio.toFixed(2)}x`);
  return `${lines.join('\n')}\n`;
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => {
    const base = quick ? quickOverlayBenchOptions : defaultOverlayBenchOptions;
    return benchOverlay({ runs: numberArg(argv, '--runs', base.runs), seconds: numberArg(argv, '--seconds', base.seconds) });
  },
  format: formatOverlayReport,
  measurements: (report) => [report.overlay, report.plain, report.kernel].map((sample) => ({
    metric: 'TCP throughput', unit: 'Gbit/s', side: `${sample.path}, MTU ${sample.mtu}`, samples: sample.gbitsPerSecond,
  })),
});
