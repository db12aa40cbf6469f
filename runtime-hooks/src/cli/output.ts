/**
 * The one printer of the `berth` CLI: every command renders its result as a human table (the default) or as JSON
 * (`-o json`), and writes progress of long work to stderr so stdout stays the result alone.
 */
import { Option } from 'commander';

export const outputFormats = ['table', 'json'] as const;
export type OutputFormat = (typeof outputFormats)[number];

/** `-o, --output <format>`: the only meaning of `-o` anywhere in the CLI (as in docker and kubectl). */
export function outputOption(defaultFormat: OutputFormat = 'table'): Option {
  return new Option('-o, --output <format>', 'output format').choices(outputFormats).default(defaultFormat);
}

/** The format a parsed `--output` names (commander's choices already refused anything else). */
export function formatOf(options: { output?: unknown }): OutputFormat {
  const output = options.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new RangeError(`Cannot use --output ${JSON.stringify(output)}: expected table or json`);
  return output;
}

/** Left-aligned columns, two spaces apart, like kubectl. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** JSON as every command prints it: two-space indented, bigints (nftables counters) as decimal strings. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item), 2);
}

/** An object as a two-column FIELD/VALUE table (the table form of `inspect`); nested values as compact JSON. */
export function formatFields(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return formatJson(value);
  return formatTable(['FIELD', 'VALUE'], Object.entries(value).map(([key, item]) => [
    key, typeof item === 'string' ? item : JSON.stringify(item, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner)) ?? '',
  ]));
}

export interface Column<Row> {
  readonly header: string;
  readonly cell: (row: Row) => string;
}

/** Rows as a table of the given columns, or as the JSON array of the same rows. */
export function formatRows<Row>(format: OutputFormat, rows: readonly Row[], columns: readonly Column<Row>[]): string {
  if (format === 'json') return formatJson(rows);
  return formatTable(columns.map((column) => column.header), rows.map((row) => columns.map((column) => column.cell(row))));
}

/** `value` as JSON, or the human text `human` makes of it. */
export function render(format: OutputFormat, value: unknown, human: () => string): string {
  return format === 'json' ? formatJson(value) : human();
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Prints `value` in the format the command was asked for. */
export function show(format: OutputFormat, value: unknown, human: () => string): void {
  print(render(format, value, human));
}

/** A progress line on stderr for work that takes more than a second (never in JSON mode: scripts read stdout). */
export function progress(format: OutputFormat, text: string): void {
  if (format === 'table') process.stderr.write(`${text}\n`);
}
