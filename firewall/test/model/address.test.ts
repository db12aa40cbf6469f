import t from 'tap';
import { canonicalAddress, formatAddress, parseAddress, parseCidr } from '../../src/model/address.js';

t.test('addresses parse to integers and format canonically', async (t) => {
  const cases: ReadonlyArray<[string, string | null]> = [
    ['10.0.0.1', '10.0.0.1'], ['255.255.255.255', '255.255.255.255'], ['0.0.0.0', '0.0.0.0'],
    ['fd00::1', 'fd00::1'], ['FD00:0:0:0:0:0:0:1', 'fd00::1'], ['::', '::'], ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['::ffff:10.0.0.1', '::ffff:a00:1'], ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['10.0.0.256', null], ['10.0.0', null], ['01.2.3.4', null], ['1::2::3', null], ['1:2:3:4:5:6:7:8:9', null],
    ['', null], ['fd00::/64', null], [' 10.0.0.1', null], ['1:2:3:4:5:6:7::8', null],
  ];
  for (const [text, expected] of cases) t.equal(canonicalAddress(text), expected, JSON.stringify(text));
  t.equal(parseAddress('10.0.0.1')?.value, 0x0a000001n);
  t.equal(formatAddress({ family: 6, value: 1n }), '::1');
});

t.test('CIDRs become inclusive ranges with host bits cleared', async (t) => {
  t.match(parseCidr('10.1.2.3/16'), { family: 4, low: 0x0a010000n, high: 0x0a01ffffn, prefixLength: 16, text: '10.1.0.0/16' });
  t.match(parseCidr('0.0.0.0/0'), { low: 0n, high: 0xffffffffn });
  t.match(parseCidr('fd00::1/128'), { family: 6, low: (0xfd00n << 112n) | 1n, text: 'fd00::1/128' });
  for (const bad of ['10.0.0.0/33', '10.0.0.0', '10.0.0.0/', 'fd00::/129', '10.0.0.0/08', 'x/8']) t.equal(parseCidr(bad), null, bad);
});
