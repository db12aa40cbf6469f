/**
 * The command-line entry every benchmark module shares: `node NAME.js [--quick] [--result FILE] [own options]` runs
 * it, prints its text report, and with --result writes its measurements as JSON for the report (main.ts).
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Measurement } from './result.js';

export interface BenchModule<Report> {
  /** import.meta.url of the module: the entry runs only when that module is the process's main script. */
  readonly moduleUrl: string;
  readonly run: (argv: readonly string[], quick: boolean) => Promise<Report>;
  readonly format: (report: Report) => string;
  readonly measurements: (report: Report) => Measurement[];
}

/** The value after `name` in argv as a number, or `fallback` when absent; a non-number is an error. */
export function numberArg(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(name);
  const value = index >= 0 ? Number(argv[index + 1]) : fallback;
  if (!Number.isFinite(value)) throw new RangeError(`${name} needs a number`);
  return value;
}

export function stringArg(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index >= 0 ? argv[index + 1] : undefined;
}

export function benchEntry<Report>(module: BenchModule<Report>): void {
  const main = process.argv[1];
  if (main === undefined || module.moduleUrl !== pathToFileURL(main).href) return;
  const argv = process.argv.slice(2);
  const resultFile = stringArg(argv, '--result');
  module.run(argv, argv.includes('--quick')).then((report) => {
    const text = module.format(report);
    if (resultFile !== undefined) writeFileSync(resultFile, JSON.stringify({ text, measurements: module.measurements(report) }));
    // Some benchmarks leave client handles that keep the loop alive (etcd channels): exit once the text is out.
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`, () => process.exit(0));
  }, (error: unknown) => {
    process.stderr.write(`benchmark failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  });
}
