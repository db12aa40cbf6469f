/** Results → the markdown report: one table per benchmark (median and spread of every measurement), charts embedded. */
import { summarize, type BenchResult, type Measurement } from '../result.js';
import type { Machine } from './machine.js';

/** When and on what a run measured; every entry keeps its own, since a run of some benchmarks keeps the others' entries. */
export interface Measured {
  /** The start of the run (ISO 8601): entries of one run share it. */
  readonly date: string;
  readonly quick: boolean;
  /** For an entry: the load average around that benchmark alone. */
  readonly machine: Machine;
}

export type ReportEntry = BenchResult & Measured;

/** A benchmark that failed in the run of `date`, with its one-line reason. */
export interface Failure {
  readonly name: string;
  readonly reason: string;
  readonly date: string;
}

/** The report; its own date, quick flag and machine are those of the latest run. */
export interface Report extends Measured {
  readonly results: readonly ReportEntry[];
  readonly failures: readonly Failure[];
  /** Chart file names relative to results.md, with their titles. */
  readonly charts: readonly { readonly file: string; readonly title: string }[];
}

function figure(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 10 ? value.toFixed(1) : value.toFixed(2);
}

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** One row per measurement: metric, side, size, median, p10–p90, min–max, samples. */
export function measurementTable(measurements: readonly Measurement[]): string {
  const lines = ['| metric | side | size | median | p10–p90 | min–max | n |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const measurement of measurements) {
    const summary = summarize(measurement.samples);
    const size = measurement.size === undefined ? '' : `${measurement.size}${measurement.sizeName === undefined ? '' : ` ${measurement.sizeName}`}`;
    lines.push(`| ${cell(measurement.metric)} (${cell(measurement.unit)}) | ${cell(measurement.side)} | ${size} | ${figure(summary.median)} | ` +
      `${figure(summary.p10)}–${figure(summary.p90)} | ${figure(summary.min)}–${figure(summary.max)} | ${summary.count} |`);
  }
  return lines.join('\n');
}

const hardware = (machine: Machine): string => `${machine.cpus} × ${machine.cpuModel}, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, kernel ${machine.kernel}`;
const versionList = (machine: Machine): string => Object.entries(machine.versions).map(([name, version]) => `${name} ${version}`).join(', ');
const loads = (values: readonly number[]): string => values.map((value) => value.toFixed(2)).join(', ');

function machineLines(machine: Machine): string[] {
  return [
    `- machine: ${hardware(machine)}`,
    `- load average (1, 5, 15 min): ${loads(machine.loadStart)} at the start, ${loads(machine.loadEnd)} at the end`,
    `- versions: ${versionList(machine)}`,
  ];
}

/** When, how and under which load an entry was measured; its machine and versions too where they differ from the latest run's. */
function measuredLine(entry: ReportEntry, latest: Machine): string {
  const line = `Measured on ${entry.date}${entry.quick ? ' with --quick' : ''}; load average ${loads(entry.machine.loadStart)} before, ${loads(entry.machine.loadEnd)} after.`;
  const machine = hardware(entry.machine) === hardware(latest) ? '' : ` Machine: ${hardware(entry.machine)}.`;
  const versions = versionList(entry.machine) === versionList(latest) ? '' : ` Versions: ${versionList(entry.machine)}.`;
  return `${line}${machine}${versions}`;
}

export function reportMarkdown(report: Report): string {
  const earlier = report.results.filter((entry) => entry.date !== report.date).map((entry) => entry.name);
  const lines = [
    '# Berth benchmark report', '',
    `Written by \`npm run bench${report.quick ? ' -- --quick' : ''}\` on ${report.date}${report.quick ? ' (quick: fewer and shorter rounds at smaller sizes; for figures to quote, run without --quick)' : ''}.`,
    ...(earlier.length === 0 ? [] : [`That run measured some benchmarks only; ${earlier.join(', ')} are kept from earlier runs, each with its own date below.`]),
    'Berth and its peer run in the same process run, interleaved round by round after warm-ups; each row is the median of its samples',
    'with the spread (p10–p90 and min–max). The machine is shared and small: read ratios measured in one run, not absolute figures.', '',
    ...machineLines(report.machine), '',
  ];
  if (report.failures.length > 0) {
    lines.push('## Not measured', '', ...report.failures.map((failure) => `- ${failure.name}, in the run of ${failure.date}: ${failure.reason}`), '');
  }
  if (report.charts.length > 0) {
    lines.push('## Charts', '');
    for (const chart of report.charts) lines.push(`### ${chart.title}`, '', `![${chart.title}](${chart.file})`, '');
  }
  for (const result of report.results) {
    lines.push(`## ${result.name}: ${result.title}`, '', measuredLine(result, report.machine), '', measurementTable(result.measurements), '', '<details><summary>printed report</summary>', '', '```text', result.text.trimEnd(), '```', '', '</details>', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
