/**
 * ADD+DEL of berth-bridge (with berth-ipam, in-process) against the reference bridge (with host-local, exec'd), each
 * plugin exec'd as an engine does: one process per call with a clean environment, inside a throwaway host netns
 * entered with nsenter, on the same container netns. Berth runs in both modes: `berth/berthd` (the shim forwards to a
 * berthd running in that host netns, as on a real host) and `berth/exec` (no berthd: the shim execs the Node plugin).
 * The three sides take turns run by run (the order rotates), so load changes hit all alike. Prints medians, the
 * ratios, and where Berth's time goes (BERTH_TIMING=1: the exec'd plugin's marks from Node's bootstrap on; berthd's
 * marks of each served call, from the upgrade to the answer; what the engine measures outside berthd is process
 * start, the shim and the socket). Not a test: nothing is asserted.
 *
 * Run: node conformance/dist/src/bench/cni-add-del.js [--quick] [--runs N] [--variant masq|plain|both] [--result FILE]
 *
 * Measured 2026-11-23 (2 vCPU EPYC, Node 20.20, containernetworking-plugins 1.1.1, shared machine), 21 runs, one run
 * straight after the other on the same load:
 *   before (root `netlink` import, node:crypto, node:child_process at start-up):
 *     plain 167 ms vs 31 ms, 5.43x; masq 186 ms vs 88 ms, 2.11x. Plugin load 31 ms of each process.
 *   after (socket layer `netlink/dist/netlink.js` only, pure sha256 for names, exec code loaded only to exec):
 *     plain 132 ms vs 33 ms, 4.03x; masq 157 ms vs 88 ms, 1.78x.
 *   then netlink bundled (its addon resolved at build time) and a V8 code cache per bundle (a separate A/B of 20
 *   ADD+DEL pairs: each call 3-5 ms faster), measured on a busier machine (`node -e 0` 124 ms):
 *     plain 148 ms vs 39 ms, 3.85x; masq 191 ms vs 116 ms, 1.64x.
 *   Where a berth ADD goes now (medians, ms): Node bootstrap 16, bundle load + skeleton 7, plugin load 10, netlink
 *   open 1, bridge 4-5, veth 4, ipam 4 (in-process, fsync'd), container 3, gateway 1, nftables 8 with ipMasq.
 *   DEL: same start-up (~33), ipam 3, nftables 20 with ipMasq (addon load included), veth deletion 24 (kernel).
 *   `nsenter node -e 0` alone is 60-70 ms wall here (the reference bridge's whole ADD ~13 ms), so two Node process
 *   starts exceed 2x the reference's ADD+DEL without ipMasq; with ipMasq (iptables for the reference) Berth is <2x.
 *
 * Measured 2026-12-03 with the shim (issue 13), 30 rounds, quiet machine (load average 1.2):
 *   plain: berth/berthd 36.3 ms, berth/exec 129.9 ms, reference 33.3 ms: 1.09x and 3.90x.
 *   masq:  berth/berthd 46.4 ms, berth/exec 177.3 ms, reference 117.2 ms: 0.40x and 1.51x.
 *   Five runs at load 1-7: berthd 0.92-1.09x plain, 0.40-0.67x masq; at load 8-16 up to 1.57x and 0.68x.
 *   A served ADD (quiet): 10.7 ms (reference 12.0) = 4.1 outside berthd (process start 2.8, shim + socket 1.8) + 6.5
 *   inside (netlink 4.3, IPAM 1.5 with its fsyncs); a served DEL: 24.0 ms (reference 20.6), of which the kernel's veth
 *   teardown 18.3.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEntry, numberArg, stringArg } from './cli.js';
import { median, percentile, type Measurement } from './result.js';

export type Variant = 'masq' | 'plain';

export interface AddDelOptions {
  readonly runs: number;
  readonly berthDir: string;
  readonly referenceDir: string;
  readonly berthdScript: string;
  readonly variants: readonly Variant[];
}

export interface Median { readonly name: string; readonly medianMs: number; readonly p90Ms: number; readonly timesMs: readonly number[] }

export type SideLabel = 'berth/berthd' | 'berth/exec' | 'reference';

export interface VariantReport {
  readonly variant: Variant;
  readonly samples: readonly Median[];
  /** ADD+DEL median of a Berth mode / the reference's. */
  readonly ratios: Readonly<Record<'berth/berthd' | 'berth/exec', number>>;
  /** Median duration of each phase of Berth's ADD and DEL, per mode (ms). */
  readonly phases: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface AddDelReport {
  readonly runs: number;
  readonly baselines: readonly Median[];
  readonly variants: readonly VariantReport[];
}

export const runsMax = 10_000;
const runsQuick = 8;
const callTimeoutMs = 60_000;
const berthdReadyMsMax = 30_000;

function findUp(relative: string): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    dir = join(dir, '..');
  }
  throw new Error(`Cannot find ${relative} above ${fileURLToPath(import.meta.url)}`);
}

export const defaultAddDelOptions = (): AddDelOptions => ({
  runs: 30,
  berthDir: findUp('cni/bin'),
  referenceDir: '/usr/lib/cni',
  berthdScript: findUp('runtime-hooks/bin/berthd.js'),
  variants: ['plain', 'masq'],
});


interface Call { readonly ms: number; readonly stderr: string }

/** Runs one process to completion inside `netns` with only `env` (and a PATH); a failure aborts the benchmark. */
function timed(netns: string, file: string, env: Record<string, string>, input: string): Call {
  return timedArgs(netns, [file], env, input);
}

function timedArgs(netns: string, argv: readonly string[], env: Record<string, string>, input: string): Call {
  const file = argv.join(' ');
  const started = process.hrtime.bigint();
  const result = spawnSync('nsenter', [`--net=/run/netns/${netns}`, '--', ...argv], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, input, timeout: callTimeoutMs, encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${file} ${env['CNI_COMMAND'] ?? ''} exited with ${result.status}: ${result.stdout} ${result.stderr}`);
  return { ms, stderr: result.stderr };
}

function ip(args: readonly string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
}

interface Side {
  readonly label: SideLabel;
  readonly dir: string;
  readonly bridgeType: string;
  readonly config: string;
  readonly env: Record<string, string>;
}

function sideConfig(type: string, ipam: string, bridge: string, subnet: string, dataDir: string, masq: boolean): string {
  return JSON.stringify({
    cniVersion: '1.0.0', name: `bt-bench-${bridge}`, type, bridge, isGateway: true, ipMasq: masq,
    ipam: { type: ipam, dataDir, ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
  });
}

/** `berth-timing {...}` lines of a process's stderr → phase durations. */
function phasesOf(stderr: string): Record<string, number> | undefined {
  const line = stderr.split('\n').find((text) => text.startsWith('berth-timing '));
  if (line === undefined) return undefined;
  const parsed = JSON.parse(line.slice('berth-timing '.length)) as { bootstrapMs?: number; phases: Record<string, number> };
  return parsed.bootstrapMs === undefined ? parsed.phases : { 'node bootstrap': parsed.bootstrapMs, ...parsed.phases };
}

function medianPhases(list: readonly Record<string, number>[]): Record<string, number> {
  const names = [...new Set(list.flatMap((phases) => Object.keys(phases)))];
  return Object.fromEntries(names.map((name) => [name, median(list.map((phases) => phases[name] ?? 0))]));
}

function sidesOf(options: AddDelOptions, variant: Variant, dataDir: string, env: Readonly<Record<SideLabel, Record<string, string>>>): Side[] {
  const masq = variant === 'masq';
  const berth = (label: SideLabel, bridge: string, subnet: string): Side => ({
    label, dir: options.berthDir, bridgeType: 'berth-bridge', env: env[label],
    config: sideConfig('berth-bridge', 'berth-ipam', bridge, subnet, dataDir, masq),
  });
  return [
    berth('berth/berthd', `bts${variant[0]}`, '10.213.0.0/16'),
    berth('berth/exec', `btb${variant[0]}`, '10.214.0.0/16'),
    { label: 'reference', dir: options.referenceDir, bridgeType: 'bridge', env: env.reference, config: sideConfig('bridge', 'host-local', `btr${variant[0]}`, '10.215.0.0/16', dataDir, masq) },
  ];
}

function benchVariant(options: AddDelOptions, variant: Variant, namespaces: { host: string; container: string }, sides: readonly Side[]): VariantReport {
  const times = new Map<string, number[]>();
  const push = (name: string, ms: number) => times.set(name, [...(times.get(name) ?? []), ms]);
  const phases = new Map<string, Record<string, number>[]>();
  const pushPhases = (name: string, stderr: string) => {
    const parsed = phasesOf(stderr);
    if (parsed !== undefined) phases.set(name, [...(phases.get(name) ?? []), parsed]);
  };
  // One unrecorded warm-up round: the first calls pay for cold page cache and berthd's first use of each path.
  for (let run = -1; run < options.runs; run += 1) {
    const first = (run + sides.length) % sides.length;
    const order = [...sides.slice(first), ...sides.slice(0, first)];
    for (const side of order) {
      const attach = (command: string) => ({
        ...side.env, CNI_COMMAND: command, CNI_CONTAINERID: `${side.label.replace("/", "-")}-${variant}-${run}`,
        CNI_NETNS: `/run/netns/${namespaces.container}`, CNI_IFNAME: 'eth0', CNI_PATH: side.dir,
      });
      const add = timed(namespaces.host, join(side.dir, side.bridgeType), attach('ADD'), side.config);
      const del = timed(namespaces.host, join(side.dir, side.bridgeType), attach('DEL'), side.config);
      if (run < 0) continue;
      push(`${side.label} ADD`, add.ms);
      push(`${side.label} DEL`, del.ms);
      push(`${side.label} ADD+DEL`, add.ms + del.ms);
      pushPhases(`${side.label} ADD`, add.stderr);
      pushPhases(`${side.label} DEL`, del.stderr);
    }
  }
  const samples = [...times].map(([name, list]) => ({ name, medianMs: median(list), p90Ms: percentile(list, 0.9), timesMs: list }));
  const of = (name: string) => samples.find((sample) => sample.name === name)?.medianMs ?? Number.NaN;
  return {
    variant, samples,
    ratios: {
      'berth/berthd': of('berth/berthd ADD+DEL') / of('reference ADD+DEL'),
      'berth/exec': of('berth/exec ADD+DEL') / of('reference ADD+DEL'),
    },
    phases: Object.fromEntries([...phases].map(([name, list]) => [name, medianPhases(list)])),
  };
}

/** berthd inside the bench host netns, as on a real host, with BERTH_TIMING=1 (served answers carry their phases). */
async function startBerthd(options: AddDelOptions, hostNs: string, stateDir: string): Promise<ChildProcess> {
  const socket = join(stateDir, 'berthd.sock');
  const child = spawn('nsenter', [`--net=/run/netns/${hostNs}`, '--', process.execPath, options.berthdScript,
    '--root', join(stateDir, 'root'), '--socket', socket, '--advertise', '127.0.0.1'], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', BERTH_TIMING: '1', BERTH_LOG_FILE: join(stateDir, 'berthd.log') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`berthd not ready in ${berthdReadyMsMax} ms: ${stderr}`)), berthdReadyMsMax);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('berthd: ready')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`berthd exited (${code}): ${stderr}`)); });
  });
  return child;
}

function stopBerthd(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function fsyncPair(dir: string): number {
  const started = process.hrtime.bigint();
  const file = join(dir, `fsync-probe-${process.pid}`);
  const fd = openSync(file, 'w', 0o600);
  try {
    writeSync(fd, 'bench-probe\r\neth0');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  unlinkSync(file);
  return elapsedMs;
}

function baselines(options: AddDelOptions & { readonly dataDir: string }, hostNs: string, env: Readonly<Record<SideLabel, Record<string, string>>>): Median[] {
  const version = (label: SideLabel) => () => timed(hostNs, join(options.berthDir, 'berth-none'), { ...env[label], CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}').ms;
  const probes: Record<string, () => number> = {
    'nsenter true': () => timed(hostNs, '/bin/true', {}, '').ms,
    'nsenter node -e 0': () => {
      const started = process.hrtime.bigint();
      spawnSync('nsenter', [`--net=/run/netns/${hostNs}`, '--', process.execPath, '-e', '0'], { env: { PATH: '/usr/bin:/bin' } });
      return Number(process.hrtime.bigint() - started) / 1e6;
    },
    'shim VERSION via berthd': version('berth/berthd'),
    'shim VERSION exec': version('berth/exec'),
    // What IPAM's durability costs on this disk: a small file written and fsynced, then its directory fsynced.
    'fsync file + dir (IPAM)': () => fsyncPair(options.dataDir),
    // The exec fallback's target without the shim in front: the difference is what the shim adds when berthd is absent.
    'node run.cjs VERSION (no shim)': () => timedArgs(hostNs, [process.execPath, join(options.berthDir, '..', 'dist', 'bundle', 'run.cjs'), 'berth-none'],
      { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}').ms,
  };
  const times = new Map<string, number[]>();
  for (let run = 0; run < Math.min(options.runs, 20); run += 1) {
    for (const [name, probe] of Object.entries(probes)) times.set(name, [...(times.get(name) ?? []), probe()]);
  }
  return [...times].map(([name, list]) => ({ name, medianMs: median(list), p90Ms: percentile(list, 0.9), timesMs: list }));
}

/** Creates the namespaces and berthd, measures every variant, removes everything (also on failure). */
export async function benchCniAddDel(options: AddDelOptions = defaultAddDelOptions()): Promise<AddDelReport> {
  if (!(Number.isInteger(options.runs) && options.runs > 0 && options.runs <= runsMax)) throw new RangeError(`runs must be 1..${runsMax}`);
  for (const file of [join(options.berthDir, 'berth-bridge'), join(options.referenceDir, 'bridge'), join(options.referenceDir, 'host-local'), options.berthdScript]) {
    if (!existsSync(file)) throw new Error(`${file} not found (npm run build? containernetworking-plugins?)`);
  }
  const suffix = `${process.pid.toString(16)}${Date.now().toString(16).slice(-4)}`;
  const namespaces = { host: `bt-bench-h${suffix}`, container: `bt-bench-c${suffix}` };
  const dataDir = mkdtempSync('/tmp/bt-bench-ipam-');
  const stateDir = mkdtempSync('/tmp/bt-bench-berthd-');
  let berthd: ChildProcess | undefined;
  try {
    ip(['netns', 'add', namespaces.host]);
    ip(['netns', 'add', namespaces.container]);
    berthd = await startBerthd(options, namespaces.host, stateDir);
    const env: Record<SideLabel, Record<string, string>> = {
      'berth/berthd': { BERTH_SOCKET: join(stateDir, 'berthd.sock') },
      'berth/exec': { BERTH_SOCKET: join(stateDir, 'absent.sock'), BERTH_TIMING: '1' },
      reference: {},
    };
    const measured = baselines({ ...options, dataDir }, namespaces.host, env);
    const variants = options.variants.map((variant) => benchVariant(options, variant, namespaces, sidesOf(options, variant, dataDir, env)));
    return { runs: options.runs, baselines: measured, variants };
  } finally {
    await stopBerthd(berthd);
    spawnSync('ip', ['netns', 'del', namespaces.container]);
    spawnSync('ip', ['netns', 'del', namespaces.host]);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const ms = (value: number): string => `${value.toFixed(1)}ms`.padStart(9);
const sum = (phases: Readonly<Record<string, number>> | undefined): number => Object.values(phases ?? {}).reduce((total, value) => total + value, 0);

function breakdown(variant: VariantReport): string[] {
  const lines: string[] = [];
  const of = (name: string) => variant.samples.find((sample) => sample.name === name)?.medianMs ?? Number.NaN;
  for (const [label, phases] of Object.entries(variant.phases)) {
    lines.push(`  where ${label} goes (median per phase, ms): ${Object.entries(phases).map(([name, value]) => `${name} ${value.toFixed(1)}`).join(', ')}`);
  }
  for (const command of ['ADD', 'DEL']) {
    const phases = variant.phases[`berth/berthd ${command}`] ?? {};
    const inside = sum(phases);
    const part = (names: readonly string[]) => names.reduce((total, name) => total + (phases[name] ?? 0), 0).toFixed(1);
    const netlink = command === 'ADD' ? ['netlink-open', 'bridge', 'veth', 'container', 'gateway'] : [];
    lines.push(`  berth/berthd ${command} breakdown (ms): engine ${of(`berth/berthd ${command}`).toFixed(1)} = process start + shim + socket ` +
      `${(of(`berth/berthd ${command}`) - inside).toFixed(1)} + berthd ${inside.toFixed(1)} [socket side ${part(['identify caller', 'turn', 'call frame', 'answer'])}, ` +
      `netlink ${command === 'ADD' ? part(netlink) : '-'}, IPAM with its fsyncs ${part(['ipam'])}, nftables ${part(['nftables'])}, ` +
      `kernel veth teardown ${command === 'DEL' ? part(['veth']) : '-'}]`);
  }
  return lines;
}

export function formatAddDelReport(report: AddDelReport): string {
  const lines = [`CNI ADD+DEL, bridge + IPAM, ${report.runs} runs per side, interleaved; one process per plugin call (nsenter into a test host netns, clean environment)`, ''];
  for (const baseline of report.baselines) lines.push(`${baseline.name.padEnd(28)}${ms(baseline.medianMs)} median`);
  const baseline = (name: string) => report.baselines.find((item) => item.name === name)?.medianMs ?? Number.NaN;
  lines.push(`=> the shim + its socket round trip to berthd (a VERSION served, less a bare process start): ${(baseline('shim VERSION via berthd') - baseline('nsenter true')).toFixed(1)} ms`);
  lines.push(`=> the shim in front of the Node plugin when berthd is absent: ${(baseline('shim VERSION exec') - baseline('node run.cjs VERSION (no shim)')).toFixed(1)} ms`);
  for (const variant of report.variants) {
    lines.push('', `variant ${variant.variant} (isGateway${variant.variant === 'masq' ? ', ipMasq: nftables for Berth, iptables for the reference' : ', no ipMasq'})`);
    lines.push(`${'call'.padEnd(28)}${'median'.padStart(9)}${'p90'.padStart(9)}`);
    for (const sample of variant.samples) lines.push(`${sample.name.padEnd(28)}${ms(sample.medianMs)}${ms(sample.p90Ms)}`);
    const target = variant.variant === 'masq' ? '0.5' : '1.0';
    lines.push(`ratio berth/berthd / reference ADD+DEL: ${variant.ratios['berth/berthd'].toFixed(2)}x (target <= ${target}x)`);
    lines.push(`ratio berth/exec / reference ADD+DEL:   ${variant.ratios['berth/exec'].toFixed(2)}x (target <= 2x)`);
    lines.push(...breakdown(variant));
  }
  return `${lines.join('\n')}\n`;
}

const sideNames: Readonly<Record<SideLabel, string>> = { 'berth/berthd': 'Berth, served by berthd', 'berth/exec': "Berth, exec'd (no berthd)", reference: 'reference bridge' };

/** Per variant and call (ADD, DEL, ADD+DEL): one measurement per side, every call's time a sample. */
export function addDelMeasurements(report: AddDelReport): Measurement[] {
  return report.variants.flatMap((variant) => variant.samples.map((sample) => {
    const [label, call] = sample.name.split(' ') as [SideLabel, string];
    return { metric: `CNI ${call} latency${variant.variant === 'masq' ? ', ipMasq' : ''}`, unit: 'ms', side: sideNames[label], samples: sample.timesMs };
  }));
}

benchEntry({
  moduleUrl: import.meta.url,
  run: (argv, quick) => {
    const defaults = defaultAddDelOptions();
    const variantArg = stringArg(argv, '--variant') ?? (quick ? 'plain' : 'both');
    const variants: Variant[] = variantArg === 'both' ? ['plain', 'masq'] : [variantArg as Variant];
    if (!variants.every((variant) => variant === 'plain' || variant === 'masq')) throw new Error('--variant must be masq, plain or both');
    return benchCniAddDel({ ...defaults, runs: numberArg(argv, '--runs', quick ? runsQuick : defaults.runs), variants });
  },
  format: formatAddDelReport,
  measurements: addDelMeasurements,
});
