/**
 * `berth run` start→exit against `runc run` of the same bundle, in a throwaway test host netns (runc as Berth's
 * runtime until berth-runtime lands): with --network none (runc: no hooks at all), with a bridge network (runc: a
 * hook that execs the reference bridge plugin with host-local, ADD at createRuntime and DEL at poststop), and with
 * a bridge network plus a service task holding one secret (berthd played by the conformance fake, until issue 11).
 * Runs alternate so load changes hit every variant alike; every command runs with a clean environment (env -i).
 * Prints medians, p90 and ratios. Not a test: nothing is asserted.
 *
 * Run: node conformance/dist/src/bench/hooks-run.js [--runs N]
 *
 * Measured 2026-12-03 (2 vCPU, Node 20.20, runc 1.1.5, containernetworking-plugins 1.1.1, machine shared with other
 * work: load average 9-10 throughout), 11 runs, medians (p90):
 *   first version (every hook stage always, plugins exec'd, CLI and hook as trees of ES modules, pino from
 *   node_modules): none 2208 ms vs runc 77 (28.8x); bridge 3956 vs 157 (25.1x).
 *   now: runc 48 (60); berth run none 204 (248): 4.2x; runc + reference bridge hook 84 (108); berth run bridge
 *   470 (751): 5.6x; bridge + one secret 589 (1037): 7.0x.
 *   What changed: only the hook stages with work (none without a service has no hook: the runtime brings up lo);
 *   Berth's plugins run inside the hook (one Node start per stage instead of four); berth-hook and the container
 *   commands are CJS bundles with pino inside and a V8 code cache (a no-op hook went from ~500 to ~65 ms of CPU).
 *   Where a bridge run goes now (CPU profiles, same machine): the CLI ~80 ms, runc ~50, createRuntime ~150 (ADD of
 *   bridge+portmap+firewall ~55), poststop ~130 (DEL ~80), finishing ~20. Three Node starts (~40-60 ms each) remain
 *   on the path, which the ≤1.0x target cannot carry: that needs the hook to hand its work to berthd (as issue 13's
 *   CNI shim does for plugins) or a native hook.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSpec } from '@berth/runtime';
import { Teardowns } from '../harness/index.js';
import { berthCli, createHooksLab, type HooksLab } from '../hooks/lab.js';

const runsDefault = 9;
const runsMax = 1000;
const referencePluginDir = '/usr/lib/cni';
const cleanPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Variant {
  readonly name: string;
  readonly argv: (run: number) => string[];
}

function median(values: readonly number[], fraction = 0.5): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

/** A hook as an engine integration would write it: the reference bridge plugin exec'd with the state's pid. */
function referenceHook(lab: HooksLab): string {
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

function runcBundle(lab: HooksLab, name: string, hook: string | undefined): string {
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

/** Wall time of one command (asynchronous: the fake berthd answers from this process's event loop). */
async function timed(lab: HooksLab, argv: readonly string[]): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await lab.exec(argv);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.code !== 0) throw new Error(`${argv.join(' ')} exited with ${result.code}: ${result.stderr}`);
  return elapsed;
}

async function main(): Promise<void> {
  const runsIndex = process.argv.indexOf('--runs');
  const runs = runsIndex > 0 ? Number(process.argv[runsIndex + 1]) : runsDefault;
  if (!Number.isInteger(runs) || runs < 1 || runs > runsMax) throw new Error(`--runs must be 1-${runsMax}`);
  const teardowns = new Teardowns();
  try {
    const lab = await createHooksLab(teardowns, 'bench');
    await lab.createNetwork('benchnet', '10.89.67.0/24');
    lab.berthd.secrets.set('token', 'bench-value');
    const plainBundle = runcBundle(lab, 'plain', undefined);
    const referenceBundle = runcBundle(lab, 'reference', referenceHook(lab));
    const berth = (extra: readonly string[]) => [process.execPath, berthCli, 'run', '--rm', ...extra, lab.rootfs, 'sh', '-c', 'exit 0'];
    const variants: Variant[] = [
      { name: 'runc run, no network (no hooks)', argv: (run) => ['runc', '--root', lab.runcRoot, 'run', '--bundle', plainBundle, `bt-bench-p${run}`] },
      { name: 'berth run --network none', argv: () => berth(['--network', 'none']) },
      { name: 'runc run + reference bridge hook', argv: (run) => ['runc', '--root', lab.runcRoot, 'run', '--bundle', referenceBundle, `bt-bench-r${run}`] },
      { name: 'berth run --network bridge', argv: () => berth(['--network', 'benchnet']) },
      { name: 'berth run bridge + 1 secret', argv: () => berth(['--network', 'benchnet', '--service', 'bench']) },
    ];
    const times = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
    for (const variant of variants) await timed(lab, variant.argv(-1));
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) times.get(variant.name)?.push(await timed(lab, variant.argv(run)));
    }
    const med = (name: string): number => median(times.get(name) ?? []);
    const lines = [`runs: ${runs} (plus one warm-up each), wall time of the whole command, ms`, `${'command'.padEnd(36)}${'median'.padStart(9)}${'p90'.padStart(9)}`];
    for (const [name, list] of times) lines.push(`${name.padEnd(36)}${median(list).toFixed(0).padStart(9)}${median(list, 0.9).toFixed(0).padStart(9)}`);
    lines.push(`ratio berth run none / runc run (no hooks):               ${(med('berth run --network none') / med('runc run, no network (no hooks)')).toFixed(2)}x`);
    lines.push(`ratio berth run bridge / runc run + reference bridge:     ${(med('berth run --network bridge') / med('runc run + reference bridge hook')).toFixed(2)}x`);
    lines.push(`ratio berth run bridge+secret / runc + reference bridge:  ${(med('berth run bridge + 1 secret') / med('runc run + reference bridge hook')).toFixed(2)}x`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    const failures = await teardowns.run();
    if (failures.length > 0) process.stderr.write(`bench teardown: ${failures.join('; ')}\n`);
  }
}

await main();
