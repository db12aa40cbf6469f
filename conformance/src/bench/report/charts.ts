/**
 * Results → vega-lite specs (pure): the report's charts, each picking one metric of one benchmark. Three shapes:
 * `distribution` (box plot of raw samples per side), `growth` (median per size with its p10–p90 band, one line per
 * side, so growth with the size shows) and `bars` (median per side with the min–max range).
 */
import type { TopLevelSpec } from 'vega-lite';
import { summarize, type BenchResult, type Measurement } from '../result.js';

export interface ChartDefinition {
  /** File name without extension, under the charts folder. */
  readonly file: string;
  readonly title: string;
  readonly benchmark: string;
  readonly metric: string;
  readonly shape: 'distribution' | 'growth' | 'bars';
  /** Growth charts: a log scale for sizes that grow by factors. */
  readonly logSize?: boolean;
}

export const reportCharts: readonly ChartDefinition[] = [
  { file: 'cni-add-latency', title: 'CNI ADD latency by mode (bridge, exec\'d as an engine does)', benchmark: 'cni-add-del', metric: 'CNI ADD latency', shape: 'distribution' },
  { file: 'policy-apply', title: 'Policy apply (full table) vs endpoints', benchmark: 'firewall', metric: 'policy apply', shape: 'growth', logSize: true },
  { file: 'connections-vs-policies', title: 'New TCP connections/s vs policies: Berth vs a linear rule list', benchmark: 'firewall', metric: 'new connections', shape: 'growth', logSize: true },
  { file: 'store-writes', title: 'Store writes/s vs concurrent clients: Berth vs raw etcd', benchmark: 'cluster', metric: 'store writes', shape: 'growth', logSize: true },
  { file: 'overlay-throughput', title: 'Overlay TCP throughput vs the kernel\'s own VXLAN (physical limit)', benchmark: 'overlay', metric: 'TCP throughput', shape: 'bars' },
  { file: 'secret-rotate', title: 'Secret rotate → new file visible in a container on another host', benchmark: 'secrets', metric: 'rotate to visible', shape: 'distribution' },
];

const width = 560;
const height = 300;
/** Side names are sentences ("Berth, served by berthd"): room for them rather than an ellipsis. */
const labelLimitPixels = 360;

function picked(definition: ChartDefinition, results: readonly BenchResult[]): Measurement[] {
  return results.filter((result) => result.name === definition.benchmark)
    .flatMap((result) => result.measurements)
    .filter((measurement) => measurement.metric === definition.metric && measurement.samples.some(Number.isFinite));
}

const axisTitle = (measurements: readonly Measurement[]): string => `${measurements[0]?.metric ?? ''} (${measurements[0]?.unit ?? ''})`;

function distribution(measurements: readonly Measurement[]): Partial<TopLevelSpec> {
  const values = measurements.flatMap((measurement) => measurement.samples.filter(Number.isFinite).map((value) => ({ side: measurement.side, value })));
  return {
    data: { values },
    mark: { type: 'boxplot', extent: 'min-max', size: 36 },
    encoding: {
      y: { field: 'side', type: 'nominal', title: null, sort: null },
      x: { field: 'value', type: 'quantitative', title: axisTitle(measurements), scale: { zero: true } },
      color: { field: 'side', type: 'nominal', legend: null },
    },
  } as Partial<TopLevelSpec>;
}

function growth(definition: ChartDefinition, measurements: readonly Measurement[]): Partial<TopLevelSpec> {
  const values = measurements.filter((measurement) => measurement.size !== undefined).map((measurement) => {
    const summary = summarize(measurement.samples);
    return { side: measurement.side, size: measurement.size, median: summary.median, p10: summary.p10, p90: summary.p90 };
  });
  const sizeName = measurements.find((measurement) => measurement.sizeName !== undefined)?.sizeName ?? 'size';
  const x = { field: 'size', type: 'quantitative', title: sizeName, scale: definition.logSize === true ? { type: 'log', nice: false } : { nice: false } };
  return {
    data: { values },
    encoding: { x, color: { field: 'side', type: 'nominal', title: null, legend: { orient: 'top' } } },
    layer: [
      { mark: { type: 'errorband', opacity: 0.25 }, encoding: { y: { field: 'p10', type: 'quantitative', title: axisTitle(measurements) }, y2: { field: 'p90' } } },
      { mark: { type: 'line', point: true }, encoding: { y: { field: 'median', type: 'quantitative' } } },
    ],
  } as Partial<TopLevelSpec>;
}

function bars(measurements: readonly Measurement[]): Partial<TopLevelSpec> {
  const values = measurements.map((measurement) => {
    const summary = summarize(measurement.samples);
    return { side: measurement.side, median: summary.median, min: summary.min, max: summary.max };
  });
  return {
    data: { values },
    encoding: { y: { field: 'side', type: 'nominal', title: null, sort: null } },
    layer: [
      { mark: 'bar', encoding: { x: { field: 'median', type: 'quantitative', title: `${axisTitle(measurements)}, median and min–max` }, color: { field: 'side', type: 'nominal', legend: null } } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } } },
      { mark: { type: 'text', align: 'left', dx: 4, dy: -10 }, encoding: { x: { field: 'max', type: 'quantitative' }, text: { field: 'median', type: 'quantitative', format: '.2f' } } },
    ],
  } as Partial<TopLevelSpec>;
}

/** The chart's vega-lite spec, or undefined when the results hold none of its data (its benchmark did not run). */
export function chartSpec(definition: ChartDefinition, results: readonly BenchResult[]): TopLevelSpec | undefined {
  const measurements = picked(definition, results);
  if (measurements.length === 0) return undefined;
  const body = definition.shape === 'distribution' ? distribution(measurements) : definition.shape === 'growth' ? growth(definition, measurements) : bars(measurements);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: definition.title, width, height: definition.shape === 'growth' ? height : Math.max(90, 60 * measurements.length),
    background: 'white', config: { font: 'DejaVu Sans', view: { stroke: null }, axis: { labelLimit: labelLimitPixels }, legend: { labelLimit: labelLimitPixels } },
    ...body,
  } as TopLevelSpec;
}
