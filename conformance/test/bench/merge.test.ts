import t from 'tap';
import type { Machine } from '../../src/bench/report/machine.js';
import { reportMarkdown, type ReportEntry } from '../../src/bench/report/markdown.js';
import { mergeReport, parseReport, type ReportData } from '../../src/bench/report/merge.js';

const order = ['cni-startup', 'firewall', 'cluster', 'hooks-run', 'runtime'];
const machine = (load: number, etcd = '3.4.23'): Machine => ({
  cpus: 2, cpuModel: 'Test CPU', memoryBytes: 4 * 2 ** 30, kernel: '6.1.0-test', loadStart: [load, load, load], loadEnd: [load, load, load],
  versions: { node: '20.0.0', etcd },
});
const entry = (name: string, date: string, median: number, quick = true): ReportEntry => ({
  name, title: `${name} title`, text: `${name} text\n`, date, quick, machine: machine(1),
  measurements: [{ metric: 'm', unit: 'ms', side: 'Berth', samples: [median] }],
});
const earlier = '2026-12-01T10:00:00.000Z';
const later = '2026-12-03T10:00:00.000Z';
const stored: ReportData = {
  date: earlier, quick: false, machine: machine(1),
  results: ['cni-startup', 'firewall', 'cluster', 'runtime'].map((name) => entry(name, earlier, 1, false)),
  failures: [{ name: 'hooks-run', reason: 'exited with 1', date: earlier }],
};

t.test('a subset run replaces the entries of the benchmarks it ran and keeps the others, in the benchmarks\' order', async (t) => {
  const run: ReportData = { date: later, quick: true, machine: machine(5), results: [entry('runtime', later, 2), entry('hooks-run', later, 3)], failures: [] };
  const merged = mergeReport(stored, run, order);
  t.same(merged.results.map((result) => [result.name, result.date, result.quick]), [
    ['cni-startup', earlier, false], ['firewall', earlier, false], ['cluster', earlier, false], ['hooks-run', later, true], ['runtime', later, true],
  ]);
  t.same(merged.results.find((result) => result.name === 'runtime')?.measurements[0]?.samples, [2]);
  t.same(merged.failures, [], 'hooks-run ran and succeeded: its earlier failure goes');
  t.same([merged.date, merged.quick, merged.machine.loadStart], [later, true, [5, 5, 5]], 'the top level is the latest run');
});

t.test('a benchmark that fails in a subset run keeps its earlier results beside the new failure', async (t) => {
  const run: ReportData = { date: later, quick: true, machine: machine(5), results: [], failures: [{ name: 'cluster', reason: 'exited with 1', date: later }] };
  const merged = mergeReport(stored, run, order);
  t.same(merged.results.find((result) => result.name === 'cluster')?.date, earlier);
  t.same(merged.failures.map((failure) => [failure.name, failure.date]), [['cluster', later], ['hooks-run', earlier]]);
});

t.test('with nothing stored (a run of every benchmark, or no readable file) the run is the report', async (t) => {
  const run: ReportData = { date: later, quick: true, machine: machine(5), results: [entry('runtime', later, 2)], failures: [] };
  t.equal(mergeReport(undefined, run, order), run);
});

t.test('a stored report reads back as written, samples that were NaN included', async (t) => {
  const withNaN: ReportData = { ...stored, results: [{ ...entry('firewall', earlier, 1), measurements: [{ metric: 'm', unit: 'ms', side: 'B', size: 10, sizeName: 'policies', samples: [1, Number.NaN] }] }] };
  const parsed = parseReport(JSON.stringify({ ...withNaN, charts: [] }));
  if (!('report' in parsed)) throw new Error(parsed.error);
  t.same(parsed.report.results[0]?.measurements[0], { metric: 'm', unit: 'ms', side: 'B', size: 10, sizeName: 'policies', samples: [1, Number.NaN] });
  t.same(parsed.report.failures, stored.failures);
});

t.test('entries written before they carried their own date take the report\'s', async (t) => {
  const { date, quick, machine: oldMachine } = stored;
  const old = { date, quick, machine: oldMachine, results: [{ name: 'firewall', title: 'f', text: '', measurements: [] }], failures: [{ name: 'hooks-run', reason: 'r' }], charts: [] };
  const parsed = parseReport(JSON.stringify(old));
  if (!('report' in parsed)) throw new Error(parsed.error);
  t.same(parsed.report.results[0], { name: 'firewall', title: 'f', text: '', measurements: [], date, quick, machine: oldMachine });
  t.same(parsed.report.failures, [{ name: 'hooks-run', reason: 'r', date }]);
});

t.test('an unreadable report is refused with its reason', async (t) => {
  for (const [text, reason] of [['{', /JSON/], ['[]', /top level/], [JSON.stringify({ ...stored, machine: { cpus: 2 } }), /machine/],
    [JSON.stringify({ ...stored, results: [{ name: 'x' }] }), /result needs/], [JSON.stringify({ ...stored, results: [{ ...entry('x', earlier, 1), measurements: [{ metric: 'm' }] }] }), /measurement needs/]] as const) {
    const parsed = parseReport(text);
    t.ok('error' in parsed && reason.test(parsed.error), `${text.slice(0, 40)}: ${'error' in parsed ? parsed.error : 'accepted'}`);
  }
});

t.test('the markdown of a merged report says which sections are older, and when each was measured and on what', async (t) => {
  const run: ReportData = { date: later, quick: true, machine: machine(5, '3.5.0'), results: [{ ...entry('runtime', later, 2), machine: machine(5, '3.5.0') }], failures: [] };
  const markdown = reportMarkdown({ ...mergeReport(stored, run, order), charts: [] });
  t.match(markdown, `Written by \`npm run bench -- --quick\` on ${later}`);
  t.match(markdown, 'cni-startup, firewall, cluster are kept from earlier runs');
  t.match(markdown, `## firewall: firewall title\n\nMeasured on ${earlier}; load average 1.00, 1.00, 1.00 before, 1.00, 1.00, 1.00 after. Versions: node 20.0.0, etcd 3.4.23.\n`);
  t.match(markdown, `## runtime: runtime title\n\nMeasured on ${later} with --quick; load average 5.00, 5.00, 5.00 before, 5.00, 5.00, 5.00 after.\n`);
  t.match(markdown, `- hooks-run, in the run of ${earlier}: exited with 1`);
});
