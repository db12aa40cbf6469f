import t from 'tap';
import { chartSpec, reportCharts, type ChartDefinition } from '../../src/bench/report/charts.js';
import { measurementTable, reportMarkdown } from '../../src/bench/report/markdown.js';
import { renderPng } from '../../src/bench/report/render.js';
import { interleaved } from '../../src/bench/rounds.js';
import { summarize, type BenchResult } from '../../src/bench/result.js';

const firewall: BenchResult = {
  name: 'firewall', title: 'firewall', text: 'printed text\n',
  measurements: [
    ...[100, 1_000, 10_000].flatMap((size, index) => [
      { metric: 'new connections', unit: 'conn/s', side: 'Berth', size, sizeName: 'policies', samples: [3000, 3100, 2900] },
      { metric: 'new connections', unit: 'conn/s', side: 'linear rules', size, sizeName: 'policies', samples: [3000 / 2 ** index, 2000 / 2 ** index] },
    ]),
    { metric: 'policy apply', unit: 'ms', side: 'Berth | engine', size: 100, sizeName: 'endpoints', samples: [5, 7, 6] },
  ],
};
const cni: BenchResult = {
  name: 'cni-add-del', title: 'cni', text: '',
  measurements: [
    { metric: 'CNI ADD latency', unit: 'ms', side: 'Berth (served)', samples: [10, 11, 12, 30] },
    { metric: 'CNI ADD latency', unit: 'ms', side: 'reference', samples: [12, 13, Number.NaN] },
  ],
};
const machine = {
  cpus: 2, cpuModel: 'Test CPU', memoryBytes: 4 * 2 ** 30, kernel: '6.1.0-test', loadStart: [1, 2, 3], loadEnd: [4, 5, 6],
  versions: { node: '20.0.0', etcd: '3.4.23' },
};
const definition = (file: string): ChartDefinition => reportCharts.find((chart) => chart.file === file) as ChartDefinition;

t.test('summarize takes the median and the spread, ignoring samples that are not numbers', async (t) => {
  t.same(summarize([4, 1, 3, 2, 5, Number.NaN]), { count: 5, median: 3, p10: 1.4, p90: 4.6, min: 1, max: 5 });
  t.equal(summarize([]).count, 0);
  t.ok(Number.isNaN(summarize([]).median));
});

t.test('interleaved runs every side each round, rotating who goes first, and drops the warm-ups', async (t) => {
  const order: string[] = [];
  const samples = await interleaved(['A', 'B'], { rounds: 2, warmups: 1 }, (side, round) => { order.push(`${side}${round}`); return round; });
  t.same(order, ['B-1', 'A-1', 'A0', 'B0', 'B1', 'A1']);
  t.same(samples, [[0, 1], [0, 1]]);
  await t.rejects(interleaved(['A'], { rounds: 0, warmups: 0 }, () => 0), RangeError);
});

t.test('a measurement table has one row per measurement with median, spread and count, pipes escaped', async (t) => {
  const table = measurementTable(firewall.measurements).split('\n');
  t.equal(table.length, 2 + firewall.measurements.length);
  t.equal(table[2], '| new connections (conn/s) | Berth | 100 policies | 3000 | 2920–3080 | 2900–3100 | 3 |');
  t.equal(table[8], '| policy apply (ms) | Berth \\| engine | 100 endpoints | 6.00 | 5.20–6.80 | 5.00–7.00 | 3 |');
  t.match(measurementTable(cni.measurements), '| CNI ADD latency (ms) | reference |  | 12.5 | 12.1–12.9 | 12.0–13.0 | 2 |');
});

t.test('the markdown report names the date, machine, load, versions, failures and embeds the charts', async (t) => {
  const date = '2026-12-03T08:00:00.000Z';
  const markdown = reportMarkdown({
    date, quick: true, machine, results: [{ ...firewall, date, quick: true, machine: { ...machine, loadStart: [1.5, 2, 3], loadEnd: [2.5, 2, 3] } }],
    failures: [{ name: 'cluster', reason: 'exited with 1', date }], charts: [{ file: 'charts/connections-vs-policies.png', title: 'Connections' }],
  });
  t.match(markdown, 'on 2026-12-03T08:00:00.000Z (quick');
  t.match(markdown, '- machine: 2 × Test CPU, 4.0 GiB memory, kernel 6.1.0-test');
  t.match(markdown, '1.00, 2.00, 3.00 at the start, 4.00, 5.00, 6.00 at the end');
  t.match(markdown, '- versions: node 20.0.0, etcd 3.4.23');
  t.match(markdown, '- cluster, in the run of 2026-12-03T08:00:00.000Z: exited with 1');
  t.match(markdown, 'Measured on 2026-12-03T08:00:00.000Z with --quick; load average 1.50, 2.00, 3.00 before, 2.50, 2.00, 3.00 after.\n');
  t.notMatch(markdown, 'kept from earlier runs');
  t.match(markdown, '![Connections](charts/connections-vs-policies.png)');
  t.match(markdown, '```text\nprinted text\n```');
});

t.test('a growth chart has one point per side and size with its band; a distribution keeps every sample', async (t) => {
  const growth = chartSpec(definition('connections-vs-policies'), [firewall, cni]) as unknown as { data: { values: { side: string; size: number; median: number }[] } };
  t.equal(growth.data.values.length, 6);
  t.same(growth.data.values.find((row) => row.side === 'linear rules' && row.size === 10_000)?.median, 625);
  const box = chartSpec(definition('cni-add-latency'), [firewall, cni]) as unknown as { data: { values: { side: string; value: number }[] } };
  t.same(box.data.values.map((row) => row.value), [10, 11, 12, 30, 12, 13]);
  t.equal(chartSpec(definition('store-writes'), [firewall, cni]), undefined, 'no chart without its benchmark');
});

t.test('each chart shape renders to a non-empty PNG', async (t) => {
  const overlay: BenchResult = { name: 'overlay', title: 'overlay', text: '', measurements: [{ metric: 'TCP throughput', unit: 'Gbit/s', side: 'kernel VXLAN', samples: [5, 6] }] };
  for (const [file, results] of [['connections-vs-policies', [firewall]], ['cni-add-latency', [cni]], ['overlay-throughput', [overlay]]] as const) {
    const png = await renderPng(chartSpec(definition(file), results) ?? t.fail('no spec') as never);
    t.ok(png.length > 5_000, `${file}: ${png.length} bytes`);
    t.same([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${file} is a PNG`);
  }
});
