/**
 * berth-runtime against runc, exec'd as an engine does (clean environment, one process per call), interleaved:
 * `--version` (start-up), `state` of a created container, and `run` of `true` from start to exit (create, start,
 * wait, delete in one call) with runc's default spec on a busybox rootfs. Prints medians and berth/runc ratios, and
 * bare Node's start for scale.
 * Not a test: nothing is asserted. Run: node conformance/dist/src/bench/runtime.js [--quick] [--runs N] [--result FILE]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseConfig, buildBusyboxRootfs, writeBundle } from '../runtime/rootfs.js';
import { berthRuntimePath, RuntimeUnderTest } from '../runtime/runtimes.js';
import { benchEntry, numberArg } from './cli.js';
import { median, sideMeasurements } from './result.js';

const runsDefault = 30;
const runsQuick = 5;
const runsMax = 1_000;
const callTimeoutMs = 30_000;

/**
 * Wall time of one call. `create` leaves the container's first process holding the runtime's stdio, so a call that
 * creates gets no pipe (`detached`): waiting for a pipe the container holds would wait out the timeout.
 */
function timeMs(argv: readonly string[], detached = false): number {
  const started = process.hrtime.bigint();
  const [file, ...args] = argv;
  const result = spawnSync(file as string, args, { stdio: ['ignore', 'ignore', detached ? 'ignore' : 'pipe'], timeout: callTimeoutMs });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited with ${result.status ?? result.signal}: ${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}


export interface RuntimeBenchReport {
  readonly runs: number;
  /** Wall times (ms) per `runtime operation`, and of bare `node -e 0`. */
  readonly samples: ReadonlyMap<string, readonly number[]>;
}

export async function benchRuntime(runs: number): Promise<RuntimeBenchReport> {
  if (!Number.isInteger(runs) || runs < 1 || runs > runsMax) throw new RangeError(`--runs must be 1..${runsMax}`);
  const dir = mkdtempSync(join(tmpdir(), 'bt-rtbench-'));
  try {
    const rootfs = await buildBusyboxRootfs(join(dir, 'rootfs'));
    const bundle = await writeBundle(join(dir, 'bundle'), baseConfig(rootfs, ['true']));
    const sleeper = await writeBundle(join(dir, 'sleeper'), baseConfig(rootfs, ['sleep', '600']));
    const runtimes = [new RuntimeUnderTest('berth-runtime', berthRuntimePath, join(dir, 'berth')), new RuntimeUnderTest('runc', 'runc', join(dir, 'runc'))];
    for (const runtime of runtimes) timeMs(runtime.argv(['create', '--bundle', sleeper, 'bench-state']), true);
    const samples = new Map<string, number[]>();
    const record = (key: string, value: number): void => { samples.set(key, [...(samples.get(key) ?? []), value]); };
    try {
      for (const runtime of runtimes) timeMs(runtime.argv(['run', '--bundle', bundle, 'bench-warmup']));
      for (let run = 0; run < runs; run += 1) {
        record('node -e 0', timeMs(['env', '-i', process.execPath, '-e', '0']));
        for (const runtime of run % 2 === 0 ? runtimes : [...runtimes].reverse()) {
          record(`${runtime.name} --version`, timeMs(runtime.argv(['--version'])));
          record(`${runtime.name} state`, timeMs(runtime.argv(['state', 'bench-state'])));
          record(`${runtime.name} run true`, timeMs(runtime.argv(['run', '--bundle', bundle, `bench-${run}`])));
        }
      }
    } finally {
      for (const runtime of runtimes) timeMs(runtime.argv(['delete', '--force', 'bench-state']));
    }
    return { runs, samples };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatRuntimeReport(report: RuntimeBenchReport): string {
  const of = (key: string): number => median(report.samples.get(key) ?? []);
  const lines = [`runs: ${report.runs} of each (after one warm-up run), interleaved; medians in ms; bare \`node -e 0\` ${of('node -e 0').toFixed(1)} ms`];
  for (const operation of ['--version', 'state', 'run true']) {
    const berth = of(`berth-runtime ${operation}`);
    const runc = of(`runc ${operation}`);
    lines.push(`${operation.padEnd(10)} berth-runtime ${berth.toFixed(1).padStart(7)}  runc ${runc.toFixed(1).padStart(7)}  ratio ${(berth / runc).toFixed(2)}x`);
  }
  return `${lines.join('\n')}\n`;
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => benchRuntime(numberArg(argv, '--runs', quick ? runsQuick : runsDefault)),
  format: formatRuntimeReport,
  measurements: (report) => sideMeasurements('runtime call', 'ms', report.samples),
});
