/**
 * One report across runs (pure): a run of some benchmarks replaces their entries (keyed by benchmark name) in the
 * stored report and keeps the others as they were, each with the date, quick flag and machine it was measured
 * with; a run of every benchmark replaces the whole report. Also reads a stored results.json back, checking its shape.
 */
import type { Measurement } from '../result.js';
import type { Machine } from './machine.js';
import type { Failure, Report, ReportEntry } from './markdown.js';

/** What a run or a stored report holds before the charts are drawn. */
export type ReportData = Omit<Report, 'charts'>;

/** The report after `run`: `previous` (none when unreadable, or when the run was of every benchmark) with the run's benchmarks replaced, in `order`. */
export function mergeReport(previous: ReportData | undefined, run: ReportData, order: readonly string[]): ReportData {
  if (previous === undefined) return run;
  const ran = new Set([...run.results, ...run.failures].map((entry) => entry.name));
  const rank = (name: string): number => (order.includes(name) ? order.indexOf(name) : order.length);
  const byOrder = <T extends { readonly name: string }>(entries: T[]): T[] => entries.sort((a, b) => rank(a.name) - rank(b.name));
  return {
    date: run.date, quick: run.quick, machine: run.machine,
    results: byOrder([...previous.results.filter((entry) => !run.results.some((result) => result.name === entry.name)), ...run.results]),
    failures: byOrder([...previous.failures.filter((failure) => !ran.has(failure.name)), ...run.failures]),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isNumberArray = (value: unknown): value is number[] => Array.isArray(value) && value.every((item) => typeof item === 'number');

function machineOf(value: unknown): Machine {
  if (!isObject(value) || typeof value['cpus'] !== 'number' || typeof value['cpuModel'] !== 'string' || typeof value['memoryBytes'] !== 'number'
    || typeof value['kernel'] !== 'string' || !isNumberArray(value['loadStart']) || !isNumberArray(value['loadEnd']) || !isObject(value['versions'])
    || !Object.values(value['versions']).every((version) => typeof version === 'string')) {
    throw new TypeError('a machine needs cpus, cpuModel, memoryBytes, kernel, loadStart, loadEnd and versions');
  }
  return value as unknown as Machine;
}

function measurementOf(value: unknown): Measurement {
  if (!isObject(value) || typeof value['metric'] !== 'string' || typeof value['unit'] !== 'string' || typeof value['side'] !== 'string'
    || !Array.isArray(value['samples']) || !value['samples'].every((sample) => typeof sample === 'number' || sample === null)
    || !(value['size'] === undefined || typeof value['size'] === 'number') || !(value['sizeName'] === undefined || typeof value['sizeName'] === 'string')) {
    throw new TypeError('a measurement needs metric, unit, side and samples');
  }
  const { metric, unit, side, size, sizeName } = value;
  return {
    metric, unit, side, ...(size === undefined ? {} : { size }), ...(sizeName === undefined ? {} : { sizeName }),
    // JSON writes a sample that is not a number (NaN: nothing measured) as null.
    samples: value['samples'].map((sample) => (sample === null ? Number.NaN : sample as number)),
  };
}

/** A stored entry, dated with the report's own run when it was written before entries carried their own. */
function entryOf(value: unknown, run: { date: string; quick: boolean; machine: Machine }): ReportEntry {
  if (!isObject(value) || typeof value['name'] !== 'string' || typeof value['title'] !== 'string' || typeof value['text'] !== 'string' || !Array.isArray(value['measurements'])) {
    throw new TypeError('a result needs name, title, text and measurements');
  }
  const { name, title, text } = value;
  return {
    name, title, text, measurements: value['measurements'].map(measurementOf),
    date: typeof value['date'] === 'string' ? value['date'] : run.date,
    quick: typeof value['quick'] === 'boolean' ? value['quick'] : run.quick,
    machine: value['machine'] === undefined ? run.machine : machineOf(value['machine']),
  };
}

function failureOf(value: unknown, date: string): Failure {
  if (!isObject(value) || typeof value['name'] !== 'string' || typeof value['reason'] !== 'string') throw new TypeError('a failure needs name and reason');
  return { name: value['name'], reason: value['reason'], date: typeof value['date'] === 'string' ? value['date'] : date };
}

/** A stored results.json, or why it cannot be used. */
export function parseReport(text: string): { report: ReportData } | { error: string } {
  try {
    const value: unknown = JSON.parse(text);
    if (!isObject(value) || typeof value['date'] !== 'string' || typeof value['quick'] !== 'boolean' || !Array.isArray(value['results'])
      || !(value['failures'] === undefined || Array.isArray(value['failures']))) {
      throw new TypeError('the top level needs date, quick, machine and results');
    }
    const run = { date: value['date'], quick: value['quick'], machine: machineOf(value['machine']) };
    return {
      report: {
        ...run,
        results: value['results'].map((entry) => entryOf(entry, run)),
        failures: ((value['failures'] ?? []) as unknown[]).map((failure) => failureOf(failure, run.date)),
      },
    };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
