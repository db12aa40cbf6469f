/**
 * berth-runtime against runc, exec'd as an engine does (clean environment, one process per call), interleaved:
 * `--version` (start-up), `state` of a created container, and `run` of `true` from start to exit (create, start,
 * wait, delete in one call) with runc's default spec on a busybox rootfs. Prints medians and berth/runc ratios, and
 * bare Node's start for scale.
 * Not a test: nothing is asserted. Run: node conformance/dist/src/bench/runtime.js [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseConfig, buildBusyboxRootfs, writeBundle } from '../runtime/rootfs.js';
import { berthRuntimePath, RuntimeUnderTest } from '../runtime/runtimes.js';

const runsDefault = 30;
const runsMax = 1_000;
const callTimeoutMs = 30_000;

function timeMs(argv: readonly string[]): number {
  const started = process.hrtime.bigint();
  const [file, ...args] = argv;
  const result = spawnSync(file as string, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: callTimeoutMs });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited with ${result.status ?? result.signal}: ${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const runsIndex = process.argv.indexOf('--runs');
  const runs = runsIndex > 0 ? Number(process.argv[runsIndex + 1]) : runsDefault;
  if (!Number.isInteger(runs) || runs < 1 || runs > runsMax) throw new RangeError(`--runs must be 1..${runsMax}`);
  const dir = mkdtempSync(join(tmpdir(), 'bt-rtbench-'));
  try {
    const rootfs = await buildBusyboxRootfs(join(dir, 'rootfs'));
    const bundle = await writeBundle(join(dir, 'bundle'), baseConfig(rootfs, ['true']));
    const sleeper = await writeBundle(join(dir, 'sleeper'), baseConfig(rootfs, ['sleep', '600']));
    const runtimes = [new RuntimeUnderTest('berth-runtime', berthRuntimePath, join(dir, 'berth')), new RuntimeUnderTest('runc', 'runc', join(dir, 'runc'))];
    for (const runtime of runtimes) timeMs(runtime.argv(['create', '--bundle', sleeper, 'bench-state']));
    const samples = new Map<string, number[]>();
    const record = (key: string, value: number): void => { samples.set(key, [...(samples.get(key) ?? []), value]); };
    for (let run = 0; run < runs; run += 1) {
      record('node -e 0', timeMs(['env', '-i', process.execPath, '-e', '0']));
      for (const runtime of runtimes) {
        record(`${runtime.name} --version`, timeMs(runtime.argv(['--version'])));
        record(`${runtime.name} state`, timeMs(runtime.argv(['state', 'bench-state'])));
        record(`${runtime.name} run true`, timeMs(runtime.argv(['run', '--bundle', bundle, `bench-${run}`])));
      }
    }
    for (const runtime of runtimes) timeMs(runtime.argv(['delete', '--force', 'bench-state']));
    process.stdout.write(`runs: ${runs} of each, interleaved; medians in ms; bare \`node -e 0\` ${median(samples.get('node -e 0') ?? []).toFixed(1)} ms\n`);
    for (const operation of ['--version', 'state', 'run true']) {
      const berth = median(samples.get(`berth-runtime ${operation}`) ?? []);
      const runc = median(samples.get(`runc ${operation}`) ?? []);
      process.stdout.write(`${operation.padEnd(10)} berth-runtime ${berth.toFixed(1).padStart(7)}  runc ${runc.toFixed(1).padStart(7)}  ratio ${(berth / runc).toFixed(2)}x\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
