/**
 * Startup cost of a CNI executable, Berth against the reference, exec'd as an engine does (one process per call),
 * Berth without berthd (its shim execs the Node plugin; cni-add-del measures the path through berthd): VERSION of berth-ipam and of the reference host-local, interleaved; then an IPAM ADD+DEL pair of each on a temp
 * dataDir; and bare `node -e 0` to show how much of Berth's time is Node's own start. Prints medians and ratios.
 * Not a test: nothing is asserted. Run: node conformance/dist/src/bench/cni-startup.js [--quick] [--runs N] [--result FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchEntry, numberArg } from './cli.js';
import { percentile, sideMeasurements } from './result.js';
import { interleaved } from './rounds.js';

export interface StartupOptions {
  readonly runs: number;
  readonly berthIpam: string;
  readonly referenceIpam: string;
}

export interface Sample {
  readonly name: string;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly timesMs: readonly number[];
}

export interface StartupReport {
  readonly runs: number;
  readonly samples: readonly Sample[];
  /** berth-ipam VERSION median / host-local VERSION median. */
  readonly versionRatio: number;
  /** berth-ipam ADD+DEL median / host-local ADD+DEL median. */
  readonly addDelRatio: number;
}

export const runsMax = 10_000;
const runsQuick = 5;
const callTimeoutMs = 30_000;

export const defaultStartupOptions: StartupOptions = {
  runs: 50,
  berthIpam: fileURLToPath(new URL('../../../../cni/bin/berth-ipam', import.meta.url)),
  referenceIpam: '/usr/lib/cni/host-local',
};


/** Runs one process to completion; returns its wall time in ms. A failure aborts the benchmark. */
function timed(file: string, args: readonly string[], env: Record<string, string>, input: string): number {
  const started = process.hrtime.bigint();
  // No berthd (a socket path where nothing listens): the standalone exec path, the shim exec'ing the Node plugin.
  const result = spawnSync(file, args, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', BERTH_SOCKET: '/nonexistent/berthd.sock', ...env }, input, timeout: callTimeoutMs });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${file} ${env['CNI_COMMAND'] ?? ''} exited with ${result.status}: ${String(result.stdout)} ${String(result.stderr)}`);
  }
  return elapsedMs;
}

function ipamConfig(type: string, dataDir: string): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: 'bt-bench', type: 'bridge', ipam: { type, dataDir, subnet: '10.213.0.0/16' } });
}

/** Measures; `runs` of each variant after a warm-up round, interleaved so load changes hit every variant alike. */
export async function benchCniStartup(options: StartupOptions = defaultStartupOptions): Promise<StartupReport> {
  if (!(Number.isInteger(options.runs) && options.runs > 0 && options.runs <= runsMax)) throw new RangeError(`runs must be 1..${runsMax}`);
  for (const file of [options.berthIpam, options.referenceIpam]) if (!existsSync(file)) throw new Error(`${file} not found (npm run build?)`);
  const dataDir = mkdtempSync('/tmp/bt-bench-');
  const version = { CNI_COMMAND: 'VERSION' };
  const versionInput = '{"cniVersion":"1.0.0"}';
  const attach = (command: string, id: string) => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' });
  const variants: Record<string, (index: number) => number> = {
    'node -e 0 (Node startup alone)': () => timed(process.execPath, ['-e', '0'], {}, ''),
    'berth-ipam VERSION': () => timed(options.berthIpam, [], version, versionInput),
    'host-local VERSION': () => timed(options.referenceIpam, [], version, versionInput),
    'berth-ipam ADD+DEL': (index) => {
      const config = ipamConfig('berth-ipam', dataDir);
      return timed(options.berthIpam, [], attach('ADD', `b${index}`), config) + timed(options.berthIpam, [], attach('DEL', `b${index}`), config);
    },
    'host-local ADD+DEL': (index) => {
      const config = ipamConfig('host-local', dataDir);
      return timed(options.referenceIpam, [], attach('ADD', `r${index}`), config) + timed(options.referenceIpam, [], attach('DEL', `r${index}`), config);
    },
  };
  const names = Object.keys(variants);
  let rounds: number[][];
  try {
    rounds = await interleaved(names, { rounds: options.runs, warmups: 1 }, (name, index) => (variants[name] as (index: number) => number)(index));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const times = new Map(names.map((name, index) => [name, rounds[index] ?? []]));
  const samples = [...times].map(([name, list]) => {
    const sorted = [...list].sort((a, b) => a - b);
    return { name, medianMs: percentile(sorted, 0.5), p90Ms: percentile(sorted, 0.9), timesMs: list };
  });
  const median = (name: string) => samples.find((sample) => sample.name === name)?.medianMs ?? Number.NaN;
  return {
    runs: options.runs, samples,
    versionRatio: median('berth-ipam VERSION') / median('host-local VERSION'),
    addDelRatio: median('berth-ipam ADD+DEL') / median('host-local ADD+DEL'),
  };
}

export function formatStartupReport(report: StartupReport): string {
  const lines = [`CNI executable startup, ${report.runs} runs each, interleaved (wall time per exec'd call)`, ''];
  lines.push(`${'variant'.padEnd(34)}${'median'.padStart(10)}${'p90'.padStart(10)}`);
  for (const sample of report.samples) {
    lines.push(`${sample.name.padEnd(34)}${sample.medianMs.toFixed(1).padStart(8)}ms${sample.p90Ms.toFixed(1).padStart(8)}ms`);
  }
  lines.push('', `ratio berth-ipam / host-local: VERSION ${report.versionRatio.toFixed(1)}x, ADD+DEL ${report.addDelRatio.toFixed(1)}x`);
  return `${lines.join('\n')}\n`;
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => benchCniStartup({ ...defaultStartupOptions, runs: numberArg(argv, '--runs', quick ? runsQuick : defaultStartupOptions.runs) }),
  format: formatStartupReport,
  measurements: (report) => sideMeasurements("exec'd call", 'ms', new Map(report.samples.map((sample) => [sample.name, sample.timesMs]))),
});
