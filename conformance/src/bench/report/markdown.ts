/** Results → the markdown report: one table per benchmark (median and spread of every measurement), charts embedded. */
import { summarize, type BenchResult, type Measurement } from '../result.js';
import type { Machine } from './machine.js';

export interface Report {
  readonly date: string;
  readonly quick: boolean;
  readonly machine: Machine;
  readonly results: readonly BenchResult[];
  /** Benchmarks that failed, with their one-line reason. */
  readonly failures: readonly { readonly name: string; readonly reason: string }[];
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

function machineLines(machine: Machine): string[] {
  const versions = Object.entries(machine.versions).map(([name, version]) => `${name} ${version}`).join(', ');
  return [
    `- machine: ${machine.cpus} × ${machine.cpuModel}, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, kernel ${machine.kernel}`,
    `- load average (1, 5, 15 min): ${machine.loadStart.map((value) => value.toFixed(2)).join(', ')} at the start, ${machine.loadEnd.map((value) => value.toFixed(2)).join(', ')} at the end`,
    `- versions: ${versions}`,
  ];
}

export function reportMarkdown(report: Report): string {
  const lines = [
    '# Berth benchmark report', '',
    `Written by \`npm run bench${report.quick ? ' -- --quick' : ''}\` on ${report.date}${report.quick ? ' (quick: fewer rounds and smaller sizes; for figures to quote, run without --quick)' : ''}.`,
    'Berth and its peer run in the same process run, interleaved round by round after warm-ups; each row is the median of its samples',
    'with the spread (p10–p90 and min–max). The machine is shared and small: read ratios measured in one run, not absolute figures.', '',
    ...machineLines(report.machine), '',
  ];
  if (report.failures.length > 0) {
    lines.push('## Not measured in this run', '', ...report.failures.map((failure) => `- ${failure.name}: ${failure.reason}`), '');
  }
  if (report.charts.length > 0) {
    lines.push('## Charts', '');
    for (const chart of report.charts) lines.push(`### ${chart.title}`, '', `![${chart.title}](${chart.file})`, '');
  }
  for (const result of report.results) {
    lines.push(`## ${result.name}: ${result.title}`, '', measurementTable(result.measurements), '', '<details><summary>printed report</summary>', '', '```text', result.text.trimEnd(), '```', '', '</details>', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
