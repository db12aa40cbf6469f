/**
 * `npm run bench [-- --quick] [-- NAME...]`: runs each benchmark in its own process, one after another (they measure
 * the machine, so never in parallel; with --quick, cluster and secrets share one process and one cluster), passes their printed reports through, and writes the report:
 * conformance/bench/results.md and results.json with the machine and versions, and the charts beside them.
 * NAME picks a subset, whose results replace only their own entries of the stored report (the others are kept, each
 * with its date); a run of every benchmark replaces the report. --quick runs fewer rounds at smaller sizes (every
 * chart still drawn).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineAtEnd, machineAtStart } from './report/machine.js';
import type { Failure, ReportEntry } from './report/markdown.js';
import { mergeReport } from './report/merge.js';
import { readReport, writeReport } from './report/write.js';
import type { Measurement } from './result.js';

const benchmarks: Readonly<Record<string, string>> = {
  'cni-startup': 'CNI executable startup: berth-ipam vs host-local',
  'cni-add-del': 'CNI ADD+DEL: berth-bridge (served by berthd, exec\'d) vs the reference bridge',
  overlay: 'VXLAN overlay vs plain bridge+route and the kernel\'s own VXLAN built by hand',
  firewall: 'firewall: policy apply vs endpoints; data-plane cost vs policies, Berth vs a linear rule list',
  cluster: 'cluster store: writes/s and latency vs raw etcd; leader failover',
  secrets: 'secrets: create/rotate throughput and latency vs raw etcd puts; rotate → file on another host',
  'hooks-run': 'berth run start→exit (none, bridge, bridge+secret) vs runc run with the reference bridge from a hook',
  runtime: 'OCI runtime: berth-runtime vs runc (start-up, state, run of true)',
  trust: 'cluster trust: store writes/s with etcd auth on (least privilege) vs off',
};

/** With --quick, these run in one process on one cluster (shared-cluster.ts), whose start is most of their quick time. */
const sharingCluster = ['cluster', 'secrets'];
const benchTimeoutMs = 30 * 60_000;
const reportDir = join(import.meta.dirname, '..', '..', '..', 'bench');

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const wanted = argv.filter((arg) => !arg.startsWith('--'));
const unknown = wanted.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(benchmarks).join(', ')}\n`);
  process.exit(2);
}

const selected = Object.keys(benchmarks).filter((name) => wanted.length === 0 || wanted.includes(name));
const shared = quick ? selected.filter((name) => sharingCluster.includes(name)) : [];
/** One process each, except the benchmarks sharing a cluster: one process for them all, where the first of them was. */
const steps = selected.filter((name) => shared.length < 2 || !shared.includes(name) || name === shared[0])
  .map((name) => (shared.length >= 2 && name === shared[0] ? shared : [name]));

function command(names: readonly string[], scratch: string): string[] {
  const [name] = names;
  if (names.length > 1) return [join(import.meta.dirname, 'shared-cluster.js'), '--result-dir', scratch, ...names];
  return [join(import.meta.dirname, `${name}.js`), ...(quick ? ['--quick'] : []), '--result', join(scratch, `${name}.json`)];
}

const machine = machineAtStart();
const date = new Date().toISOString();
const scratch = mkdtempSync(join(tmpdir(), 'bt-bench-report-'));
const results: ReportEntry[] = [];
const failures: Failure[] = [];
try {
  for (const names of steps) {
    process.stdout.write(`\n### ${names.map((name) => `${name}: ${benchmarks[name]}`).join('; ')}${names.length > 1 ? ' (--quick: one cluster for them)' : ''}\n`);
    const started = Date.now();
    const machineThen = { ...machine, loadStart: loadavg() };
    const run = spawnSync(process.execPath, command(names, scratch), { stdio: 'inherit', timeout: benchTimeoutMs });
    process.stdout.write(`(${names.join(', ')}: ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    for (const name of names) {
      const resultFile = join(scratch, `${name}.json`);
      if (!existsSync(resultFile)) {
        failures.push({ name, reason: `exited with ${run.status ?? run.signal} (its error is in the run's output)`, date });
        continue;
      }
      const output = JSON.parse(readFileSync(resultFile, 'utf8')) as { text: string; measurements: Measurement[] };
      results.push({ name, title: benchmarks[name] as string, ...output, date, quick, machine: machineAtEnd(machineThen) });
    }
  }
  const run = { date, quick, machine: machineAtEnd(machine), results, failures };
  const stored = wanted.length === 0 ? undefined : readReport(reportDir);
  if (stored !== undefined && 'error' in stored) {
    process.stdout.write(`\nbench: cannot read the stored ${join(reportDir, 'results.json')} (${stored.error}): the report holds only this run's benchmarks\n`);
  }
  const report = await writeReport(reportDir, mergeReport(stored !== undefined && 'report' in stored ? stored.report : undefined, run, Object.keys(benchmarks)));
  process.stdout.write(`\nreport: ${join(reportDir, 'results.md')} (${report.charts.length} charts), ${join(reportDir, 'results.json')}\n`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exitCode = failures.length === 0 ? 0 : 1;
