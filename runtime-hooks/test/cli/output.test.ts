import t from 'tap';
import { formatFields, formatJson, formatRows, formatTable, render } from '../../src/cli/output.js';

interface Row { name: string; subnets: string[]; attached: number }
const rows: Row[] = [
  { name: 'web', subnets: ['10.89.0.0/24', 'fd89::/64'], attached: 2 },
  { name: 'a-much-longer-name', subnets: [], attached: 0 },
];
const columns = [
  { header: 'NAME', cell: (row: Row) => row.name },
  { header: 'SUBNETS', cell: (row: Row) => row.subnets.join(',') || '-' },
  { header: 'ATTACHED', cell: (row: Row) => String(row.attached) },
];

t.test('the same rows as a table and as JSON', async (t) => {
  t.equal(formatRows('table', rows, columns), [
    'NAME                SUBNETS                 ATTACHED',
    'web                 10.89.0.0/24,fd89::/64  2',
    'a-much-longer-name  -                       0',
  ].join('\n'), 'columns as wide as their widest cell, two spaces apart, no trailing blanks');
  t.same(JSON.parse(formatRows('json', rows, columns)), rows, 'JSON is the rows themselves, every field kept');
  t.equal(formatRows('table', [], columns), 'NAME  SUBNETS  ATTACHED', 'no rows: the header alone');
  t.equal(formatRows('json', [], columns), '[]');
});

t.test('JSON and text renderings', async (t) => {
  t.equal(formatJson({ packets: 12345678901234567890n }), '{\n  "packets": "12345678901234567890"\n}', 'bigints (nftables counters) as decimal strings');
  t.equal(render('json', { a: 1 }, () => 'human'), '{\n  "a": 1\n}');
  t.equal(render('table', { a: 1 }, () => 'human'), 'human', 'the table form is the command\'s own text');
  t.equal(formatTable(['A', 'B'], [['x', '']]), 'A  B\nx', 'an empty last cell leaves no blanks');
  t.equal(formatFields({ name: 'web', subnets: ['10.89.0.0/24'], vni: 42 }), 'FIELD    VALUE\nname     web\nsubnets  ["10.89.0.0/24"]\nvni      42',
    'inspect as a table: one field a line, nested values as compact JSON');
  t.equal(formatFields(['x']), '[\n  "x"\n]', 'anything but an object stays JSON');
});
