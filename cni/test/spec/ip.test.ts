import t from 'tap';
import { formatIp, parseCidr, parseIp } from '../../src/spec/ip.js';

t.test('IPv4 and IPv6 text round-trips to the canonical form Go prints', async (t) => {
  const cases: [string, string][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:1:1:1:1:0:1', '2001:db8:1:1:1:1:0:1'],
    ['2001:DB8::A', '2001:db8::a'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['64:ff9b::10.1.2.3', '64:ff9b::a01:203'],
  ];
  for (const [input, canonical] of cases) {
    const address = parseIp(input);
    t.not(address, undefined, `${input} parses`);
    if (address !== undefined) t.equal(formatIp(address), canonical, `${input} prints as ${canonical}`);
  }
});

t.test('malformed addresses are refused', async (t) => {
  const bad = ['', '10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1.', '1.2.3.4/24', 'fe80::1%eth0', '1::2::3',
    '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', ':::', '1:2:3:4:5:6:7::8:9', 'x'.repeat(100), ' 10.0.0.1'];
  for (const text of bad) t.equal(parseIp(text), undefined, `"${text.slice(0, 20)}" is refused`);
});

t.test('CIDR parsing keeps host bits and checks the prefix against the family', async (t) => {
  t.same(parseCidr('10.0.0.5/24'), { address: { family: 4, value: 0x0a000005n }, prefixLength: 24 });
  t.equal(parseCidr('2001:db8::/64')?.prefixLength, 64);
  for (const text of ['10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '10.0.0.0', '10.0.0.0/08', '::/129', 'x/8']) {
    t.equal(parseCidr(text), undefined, `${text} is refused`);
  }
});
