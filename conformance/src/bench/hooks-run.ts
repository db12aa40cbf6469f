/**
 * `berth run` start→exit against `runc run` of the same bundle, in a throwaway test host netns with a real berthd
 * formed into a one-host cluster (as `npm run demo` runs it): with --network none (runc: no hooks at all), with a
 * bridge network (runc: a hook that execs the reference bridge plugin with host-local, ADD at createRuntime and DEL
 * at poststop, without a netns as runc's poststop has none), and with a bridge network plus one secret (`--service
 * bench --secret token`: the grant, the task and its tmpfs, the bind at /run/secrets). `berth run` is the installed
 * `berth` (the native front end): berthd serves the run with its warm runtime, hook stages and plugins. One more row
 * runs the Node CLI alone (`node berth.js run`, what runs without berthd). Runs rotate round by round so load changes
 * hit every variant alike; every command runs with a clean environment (env -i). Prints medians, p90 and ratios. Not
 * a test: nothing is asserted.
 *
 * Run: node conformance/dist/src/bench/hooks-run.js [--quick] [--runs N] [--result FILE]
 *
 * Measured 2026-12-03 (2 vCPU, Node 20.20, runc 1.1.5, containernetworking-plugins 1.1.1, machine shared with other
 * work), medians:
 *   every stage exec'd, CLI and hooks as trees of ES modules (load 9-10): bridge 3956 ms vs runc 157 (25.1x);
 *   runtime and hook stages in the CLI's one Node process (load 7): bridge 464 vs 115 (4.0x).
 *   served by berthd (this version; 9 runs, load 0.8): none 20 vs runc 33 (0.61x), bridge 56 vs 59 (0.95x), bridge
 *   + secret 108 (1.84x), the Node CLI alone on the bridge 202 (3.4x).
 *   Where a served bridge run goes (berthd's marks, load 1-2, ~85 ms): front end, upgrade and frame ~1; leftovers,
 *   bundle, cgroups 5; berth-init to its pid 10-15 (the first cgroup.procs write waits ~20 ms for an RCU grace
 *   period when the machine is idle; runc's does too); createRuntime 25-35 (bridge ADD 12-15 with IPAM's fsyncs,
 *   firewall ADD 5-8: an etcd write and the local nftables update it waits for); start 3; poststop 20-35 (firewall
 *   DEL 7-10; bridge DEL was 20-30 with the kernel's veth teardown, now left to the netns as runc's path leaves it);
 *   finish 2. The reference path's own costs are a Go runtime start for runc and runc init, the same cgroup and
 *   netns work, and a shell script around the plugin at each hook.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSpec } from '@berth/runtime';
import { Teardowns } from '../harness/index.js';
import { berthCli, createClusterLab, initCluster, runtimeBinDir, type HooksLab, type LabBerthd } from '../hooks/lab.js';
import { benchEntry, numberArg } from './cli.js';
import { median, percentile, sideMeasurements } from './result.js';
import { interleaved } from './rounds.js';

const runsDefault = 9;
const runsQuick = 3;
const runsMax = 1000;
const referencePluginDir = '/usr/lib/cni';
/** `berth` as installed: the native front end, which has berthd serve a foreground run. */
const berthFrontEnd = join(runtimeBinDir, 'berth');
const cleanPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Variant {
  readonly name: string;
  readonly argv: (run: number) => string[];
}


/** A hook as an engine integration would write it: the reference bridge plugin exec'd with the state's pid. */
function referenceHook(lab: HooksLab<LabBerthd>): string {
  const dir = join(lab.dir, 'reference');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'bridge.conf');
  writeFileSync(conf, JSON.stringify({
    cniVersion: '1.0.0', name: 'refnet', type: 'bridge', bridge: 'btref0', isGateway: true,
    ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: '10.89.68.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
  }));
  const script = join(dir, 'cni-hook');
  writeFileSync(script, `#!/bin/sh
# $1: ADD or DEL. The OCI state on stdin gives the container id and (for ADD) its first process.
state=$(cat)
id=$(printf '%s' "$state" | sed -n 's/.*"id": *"\\([^"]*\\)".*/\\1/p')
pid=$(printf '%s' "$state" | sed -n 's/.*"pid": *\\([0-9]*\\).*/\\1/p')
netns=""
[ "$1" = ADD ] && netns=/proc/$pid/ns/net
CNI_COMMAND=$1 CNI_CONTAINERID=$id CNI_NETNS=$netns CNI_IFNAME=eth0 CNI_PATH=${referencePluginDir} ${referencePluginDir}/bridge < ${conf} > /dev/null
`);
  chmodSync(script, 0o755);
  return script;
}

function runcBundle(lab: HooksLab<LabBerthd>, name: string, hook: string | undefined): string {
  const dir = join(lab.dir, 'bundles', name);
  mkdirSync(dir, { recursive: true });
  const hooks = hook === undefined ? { createRuntime: [], createContainer: [], poststop: [] } : {
    createRuntime: [{ path: hook, args: ['cni-hook', 'ADD'], env: [cleanPath] }],
    createContainer: [],
    poststop: [{ path: hook, args: ['cni-hook', 'DEL'], env: [cleanPath] }],
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(buildSpec({
    rootfs: lab.rootfs, args: ['sh', '-c', 'exit 0'], env: [], hostname: name, terminal: false, hostNetwork: false, annotations: {}, hooks,
  })));
  return dir;
}

/** Wall time of one command. */
async function timed(lab: HooksLab<LabBerthd>, argv: readonly string[]): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await lab.exec(argv);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.code !== 0) throw new Error(`${argv.join(' ')} exited with ${result.code}: ${result.stderr}`);
  return elapsed;
}

export interface HooksRunReport {
  readonly runs: number;
  /** Wall times (ms) of each command. */
  readonly samples: ReadonlyMap<string, readonly number[]>;
}

export async function benchHooksRun(runs: number): Promise<HooksRunReport> {
  if (!Number.isInteger(runs) || runs < 1 || runs > runsMax) throw new RangeError(`--runs must be 1-${runsMax}`);
  const teardowns = new Teardowns();
  try {
    const lab = await createClusterLab(teardowns, 'bench');
    await initCluster(lab);
    await lab.createNetwork('benchnet', '10.89.67.0/24');
    const secretFile = join(lab.dir, 'token.value');
    writeFileSync(secretFile, 'bench-value', { mode: 0o600 });
    const created = await lab.berth(['secret', 'create', 'token', secretFile]);
    if (created.code !== 0) throw new Error(`berth secret create token: ${created.stderr.trim()}`);
    const plainBundle = runcBundle(lab, 'plain', undefined);
    const referenceBundle = runcBundle(lab, 'reference', referenceHook(lab));
    const berth = (extra: readonly string[]) => [berthFrontEnd, 'run', '--rm', ...extra, lab.rootfs, 'sh', '-c', 'exit 0'];
    const variants: Variant[] = [
      { name: 'runc run, no network (no hooks)', argv: (run) => ['runc', '--root', lab.runcRoot, 'run', '--bundle', plainBundle, `bt-bench-p${run}`] },
      { name: 'berth run --network none', argv: () => berth(['--network', 'none']) },
      { name: 'runc run + reference bridge hook', argv: (run) => ['runc', '--root', lab.runcRoot, 'run', '--bundle', referenceBundle, `bt-bench-r${run}`] },
      { name: 'berth run --network bridge', argv: () => berth(['--network', 'benchnet']) },
      { name: 'berth run bridge + 1 secret', argv: () => berth(['--network', 'benchnet', '--service', 'bench', '--secret', 'token']) },
      { name: 'berth run bridge, Node CLI alone', argv: () => [process.execPath, berthCli, 'run', '--rm', '--network', 'benchnet', lab.rootfs, 'sh', '-c', 'exit 0'] },
    ];
    const samples = await interleaved(variants, { rounds: runs, warmups: 1 }, (variant, run) => timed(lab, variant.argv(run)));
    return { runs, samples: new Map(variants.map((variant, index) => [variant.name, samples[index] ?? []])) };
  } finally {
    const failures = await teardowns.run();
    if (failures.length > 0) process.stderr.write(`bench teardown: ${failures.join('; ')}\n`);
  }
}

export function formatHooksRunReport(report: HooksRunReport): string {
  const med = (name: string): number => median(report.samples.get(name) ?? []);
  const lines = [`runs: ${report.runs} (after one warm-up round), interleaved, wall time of the whole command, ms`, `${'command'.padEnd(36)}${'median'.padStart(9)}${'p90'.padStart(9)}`];
  for (const [name, list] of report.samples) lines.push(`${name.padEnd(36)}${median(list).toFixed(0).padStart(9)}${percentile(list, 0.9).toFixed(0).padStart(9)}`);
  lines.push(`ratio berth run none / runc run (no hooks):               ${(med('berth run --network none') / med('runc run, no network (no hooks)')).toFixed(2)}x`);
  lines.push(`ratio berth run bridge / runc run + reference bridge:     ${(med('berth run --network bridge') / med('runc run + reference bridge hook')).toFixed(2)}x`);
  lines.push(`ratio berth run bridge+secret / runc + reference bridge:  ${(med('berth run bridge + 1 secret') / med('runc run + reference bridge hook')).toFixed(2)}x`);
  return `${lines.join('\n')}\n`;
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => benchHooksRun(numberArg(argv, '--runs', quick ? runsQuick : runsDefault)),
  format: formatHooksRunReport,
  measurements: (report) => sideMeasurements('start to exit', 'ms', report.samples),
});
