/**
 * ADD+DEL of berth-bridge (with berth-ipam, in-process) against the reference bridge (with host-local, exec'd), each
 * plugin exec'd as an engine does: one process per call, inside a throwaway host netns entered with nsenter, on the
 * same container netns. Berth and reference alternate run by run (and which goes first alternates too), so load
 * changes hit both alike. Prints medians, the ratio, and where Berth's time goes (BERTH_TIMING=1 marks: Node's own
 * bootstrap, loading the bundle, then each step of ADD and DEL). Not a test: nothing is asserted.
 *
 * Run: node conformance/dist/src/bench/cni-add-del.js [--runs N] [--variant masq|plain|both]
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
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Variant = 'masq' | 'plain';

export interface AddDelOptions {
  readonly runs: number;
  readonly berthDir: string;
  readonly referenceDir: string;
  readonly variants: readonly Variant[];
}

export interface Median { readonly name: string; readonly medianMs: number; readonly p90Ms: number }

export interface VariantReport {
  readonly variant: Variant;
  readonly samples: readonly Median[];
  /** berth ADD+DEL median / reference ADD+DEL median. */
  readonly ratio: number;
  /** Median duration of each phase of Berth's ADD and DEL processes (ms). */
  readonly berthAddPhases: Readonly<Record<string, number>>;
  readonly berthDelPhases: Readonly<Record<string, number>>;
}

export interface AddDelReport {
  readonly runs: number;
  readonly baselines: readonly Median[];
  readonly variants: readonly VariantReport[];
}

export const runsMax = 10_000;
const callTimeoutMs = 60_000;

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
  variants: ['plain', 'masq'],
});

function median(values: readonly number[], fraction = 0.5): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

interface Call { readonly ms: number; readonly stderr: string }

/** Runs one process to completion inside `netns`; a failure aborts the benchmark (it would measure nothing). */
function timed(netns: string, file: string, env: Record<string, string>, input: string): Call {
  const started = process.hrtime.bigint();
  const result = spawnSync('nsenter', [`--net=/run/netns/${netns}`, '--', file], {
    env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, input, timeout: callTimeoutMs, encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${file} ${env['CNI_COMMAND'] ?? ''} exited with ${result.status}: ${result.stdout} ${result.stderr}`);
  return { ms, stderr: result.stderr };
}

function ip(args: readonly string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
}

interface Side { readonly label: string; readonly dir: string; readonly bridgeType: string; readonly config: string }

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
  const parsed = JSON.parse(line.slice('berth-timing '.length)) as { bootstrapMs: number; phases: Record<string, number> };
  return { 'node bootstrap': parsed.bootstrapMs, ...parsed.phases };
}

function medianPhases(list: readonly Record<string, number>[]): Record<string, number> {
  const names = [...new Set(list.flatMap((phases) => Object.keys(phases)))];
  return Object.fromEntries(names.map((name) => [name, median(list.map((phases) => phases[name] ?? 0))]));
}

function benchVariant(options: AddDelOptions, variant: Variant, hostNs: string, containerNs: string, dataDir: string): VariantReport {
  const masq = variant === 'masq';
  const sides: Side[] = [
    { label: 'berth', dir: options.berthDir, bridgeType: 'berth-bridge', config: sideConfig('berth-bridge', 'berth-ipam', `btb${variant[0]}`, '10.214.0.0/16', dataDir, masq) },
    { label: 'reference', dir: options.referenceDir, bridgeType: 'bridge', config: sideConfig('bridge', 'host-local', `btr${variant[0]}`, '10.215.0.0/16', dataDir, masq) },
  ];
  const times = new Map<string, number[]>();
  const push = (name: string, ms: number) => times.set(name, [...(times.get(name) ?? []), ms]);
  const addPhases: Record<string, number>[] = [];
  const delPhases: Record<string, number>[] = [];
  for (let run = 0; run < options.runs; run += 1) {
    const order = run % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const attach = (command: string) => ({
        CNI_COMMAND: command, CNI_CONTAINERID: `${side.label}-${variant}-${run}`, CNI_NETNS: `/run/netns/${containerNs}`,
        CNI_IFNAME: 'eth0', CNI_PATH: side.dir, ...(side.label === 'berth' ? { BERTH_TIMING: '1' } : {}),
      });
      const add = timed(hostNs, join(side.dir, side.bridgeType), attach('ADD'), side.config);
      const del = timed(hostNs, join(side.dir, side.bridgeType), attach('DEL'), side.config);
      push(`${side.label} ADD`, add.ms);
      push(`${side.label} DEL`, del.ms);
      push(`${side.label} ADD+DEL`, add.ms + del.ms);
      if (side.label === 'berth') {
        const a = phasesOf(add.stderr);
        const d = phasesOf(del.stderr);
        if (a !== undefined) addPhases.push(a);
        if (d !== undefined) delPhases.push(d);
      }
    }
  }
  const samples = [...times].map(([name, list]) => ({ name, medianMs: median(list), p90Ms: median(list, 0.9) }));
  const of = (name: string) => samples.find((sample) => sample.name === name)?.medianMs ?? Number.NaN;
  return {
    variant, samples, ratio: of('berth ADD+DEL') / of('reference ADD+DEL'),
    berthAddPhases: medianPhases(addPhases), berthDelPhases: medianPhases(delPhases),
  };
}

/** Creates the namespaces, measures every variant, removes everything (also on failure). */
export function benchCniAddDel(options: AddDelOptions = defaultAddDelOptions()): AddDelReport {
  if (!(Number.isInteger(options.runs) && options.runs > 0 && options.runs <= runsMax)) throw new RangeError(`runs must be 1..${runsMax}`);
  for (const file of [join(options.berthDir, 'berth-bridge'), join(options.referenceDir, 'bridge'), join(options.referenceDir, 'host-local')]) {
    if (!existsSync(file)) throw new Error(`${file} not found (npm run build? containernetworking-plugins?)`);
  }
  const suffix = `${process.pid.toString(16)}${Date.now().toString(16).slice(-4)}`;
  const hostNs = `bt-bench-h${suffix}`;
  const containerNs = `bt-bench-c${suffix}`;
  const dataDir = mkdtempSync('/tmp/bt-bench-ipam-');
  try {
    ip(['netns', 'add', hostNs]);
    ip(['netns', 'add', containerNs]);
    const baselineTimes = { 'nsenter true': [] as number[], 'nsenter node -e 0': [] as number[] };
    for (let run = 0; run < Math.min(options.runs, 20); run += 1) {
      baselineTimes['nsenter true'].push(timed(hostNs, '/bin/true', {}, '').ms);
      const started = process.hrtime.bigint();
      spawnSync('nsenter', [`--net=/run/netns/${hostNs}`, '--', process.execPath, '-e', '0']);
      baselineTimes['nsenter node -e 0'].push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const baselines = Object.entries(baselineTimes).map(([name, list]) => ({ name, medianMs: median(list), p90Ms: median(list, 0.9) }));
    const variants = options.variants.map((variant) => benchVariant(options, variant, hostNs, containerNs, dataDir));
    return { runs: options.runs, baselines, variants };
  } finally {
    spawnSync('ip', ['netns', 'del', containerNs]);
    spawnSync('ip', ['netns', 'del', hostNs]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const ms = (value: number): string => `${value.toFixed(1)}ms`.padStart(9);

export function formatAddDelReport(report: AddDelReport): string {
  const lines = [`CNI ADD+DEL, bridge + IPAM, ${report.runs} runs per side, interleaved; one process per plugin call (nsenter into a test host netns)`, ''];
  for (const baseline of report.baselines) lines.push(`${baseline.name.padEnd(28)}${ms(baseline.medianMs)} median`);
  for (const variant of report.variants) {
    lines.push('', `variant ${variant.variant} (isGateway${variant.variant === 'masq' ? ', ipMasq: nftables for Berth, iptables for the reference' : ', no ipMasq'})`);
    lines.push(`${'call'.padEnd(28)}${'median'.padStart(9)}${'p90'.padStart(9)}`);
    for (const sample of variant.samples) lines.push(`${sample.name.padEnd(28)}${ms(sample.medianMs)}${ms(sample.p90Ms)}`);
    lines.push(`ratio berth/reference ADD+DEL: ${variant.ratio.toFixed(2)}x`);
    for (const [label, phases] of [['berth ADD', variant.berthAddPhases], ['berth DEL', variant.berthDelPhases]] as const) {
      lines.push(`  where ${label} goes (median per phase): ${Object.entries(phases).map(([name, value]) => `${name} ${value.toFixed(1)}`).join(', ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function argValue(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index >= 0 ? argv[index + 1] : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const defaults = defaultAddDelOptions();
  const variantArg = argValue(process.argv, '--variant') ?? 'both';
  const variants: Variant[] = variantArg === 'both' ? ['plain', 'masq'] : [variantArg as Variant];
  if (!variants.every((variant) => variant === 'plain' || variant === 'masq')) throw new Error('--variant must be masq, plain or both');
  const runs = Number(argValue(process.argv, '--runs') ?? defaults.runs);
  process.stdout.write(formatAddDelReport(benchCniAddDel({ ...defaults, runs, variants })));
}
