import t from 'tap';
import { BlockList, isIP } from 'node:net';
import {
  IpParseError, cidrBroadcast, cidrCanonical, cidrContains, cidrMask, cidrNetwork, cidrOverlaps, cidrSize, compareIp,
  formatCidr, formatIp, ipAdd, ipEquals, ipFromBytes, ipToBytes, makeCidr, nextIp, parseCidr, parseIp, previousIp,
  tryParseIp, type IpAddress,
} from '../../src/net/ip.js';

t.test('parses and formats canonical addresses', async (t) => {
  const cases: [string, string][] = [
    ['0.0.0.0', '0.0.0.0'], ['255.255.255.255', '255.255.255.255'], ['10.1.2.3', '10.1.2.3'],
    ['::', '::'], ['::1', '::1'], ['1::', '1::'], ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run is compressed
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // on a tie, the first run
    ['fe80::1:2.3.4.5', 'fe80::1:203:405'], ['::ffff:10.0.0.1', '::ffff:10.0.0.1'], ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const [input, expected] of cases) t.equal(formatIp(parseIp(input)), expected, input);
  t.same(parseIp('10.0.0.1'), { family: 4, value: 0x0a000001n });
  t.same(parseIp('::1'), { family: 6, value: 1n });
});

t.test('rejects hostile and malformed addresses', async (t) => {
  const hostile = [
    '', ' ', '1.2.3', '1.2.3.4.', '.1.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '256.0.0.0', '1.2.3.-1', '01.2.3.4', '1.2.3.04',
    '0x1.2.3.4', '1e2.0.0.0', '1.2.3.4/24', '1..3.4', '١.٢.٣.٤', '1.2.3.4\n', '1.2.3.4\0', '+1.2.3.4', 'localhost',
    ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', ':1::',
    '1::2:', '12345::', 'g::', 'fe80::1%eth0', '[::1]', '1.2.3.4::', '::1.2.3', '::1.2.3.256', '1:2:3:4:5:6:7:1.2.3.4',
    '1:2:3:4:5:6:1.2.3.4:5', '::-1', 'x'.repeat(100_000), '1'.repeat(70),
  ];
  for (const input of hostile) {
    t.equal(tryParseIp(input), undefined, `tryParseIp ${JSON.stringify(input.slice(0, 20))}`);
    t.throws(() => parseIp(input), IpParseError);
  }
  t.throws(() => parseIp('nope'), { code: 'INVALID_IP', message: 'Invalid IP address "nope"' });
  t.equal(tryParseIp(undefined as unknown as string), undefined, 'non-string input');
});

t.test('parses CIDRs and rejects bad prefix lengths', async (t) => {
  t.same(parseCidr('10.0.0.5/24'), { address: { family: 4, value: 0x0a000005n }, prefixLength: 24 });
  t.equal(formatCidr(parseCidr('2001:DB8::/32')), '2001:db8::/32');
  t.equal(formatCidr(parseCidr('0.0.0.0/0')), '0.0.0.0/0');
  t.equal(formatCidr(parseCidr('::/128')), '::/128');
  for (const input of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/+8',
    '10.0.0.0/8/8', '/8', '::/129', '10.0.0.0/ 8', '10.0.0.0/8 ', 'a/8', '10.0.0.0/1e1', '10.0.0.0/0x8']) {
    t.throws(() => parseCidr(input), { name: 'IpParseError', code: 'INVALID_IP' }, JSON.stringify(input));
  }
  t.throws(() => makeCidr(parseIp('10.0.0.0'), 33), IpParseError);
  t.throws(() => makeCidr(parseIp('10.0.0.0'), 1.5), IpParseError);
  t.same(makeCidr(parseIp('::'), 128).prefixLength, 128);
});

t.test('network, broadcast, mask, size, canonical', async (t) => {
  const v4 = parseCidr('10.1.2.3/22');
  t.equal(formatIp(cidrNetwork(v4)), '10.1.0.0');
  t.equal(formatIp(cidrBroadcast(v4)), '10.1.3.255');
  t.equal(formatIp(cidrMask(v4)), '255.255.252.0');
  t.equal(cidrSize(v4), 1024n);
  t.equal(formatCidr(cidrCanonical(v4)), '10.1.0.0/22');
  const all = parseCidr('1.2.3.4/0');
  t.equal(formatIp(cidrNetwork(all)), '0.0.0.0');
  t.equal(formatIp(cidrBroadcast(all)), '255.255.255.255');
  const host = parseCidr('1.2.3.4/32');
  t.equal(formatIp(cidrNetwork(host)), '1.2.3.4');
  t.equal(formatIp(cidrBroadcast(host)), '1.2.3.4');
  const v6 = parseCidr('2001:db8:1:2::7/64');
  t.equal(formatIp(cidrNetwork(v6)), '2001:db8:1:2::');
  t.equal(formatIp(cidrBroadcast(v6)), '2001:db8:1:2:ffff:ffff:ffff:ffff');
  t.equal(cidrSize(v6), 1n << 64n);
  t.equal(formatIp(cidrMask(parseCidr('::/0'))), '::');
});

t.test('contains, overlaps, next, previous, add, compare', async (t) => {
  const net = parseCidr('192.168.1.0/24');
  t.ok(cidrContains(net, parseIp('192.168.1.0')));
  t.ok(cidrContains(net, parseIp('192.168.1.255')));
  t.notOk(cidrContains(net, parseIp('192.168.2.0')));
  t.notOk(cidrContains(net, parseIp('::ffff:192.168.1.1')), 'no match across families');
  t.ok(cidrOverlaps(parseCidr('10.0.0.0/8'), parseCidr('10.20.0.0/16')));
  t.ok(cidrOverlaps(parseCidr('10.20.0.0/16'), parseCidr('10.0.0.0/8')));
  t.notOk(cidrOverlaps(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16')));
  t.notOk(cidrOverlaps(parseCidr('0.0.0.0/0'), parseCidr('::/0')));
  t.equal(formatIp(nextIp(parseIp('10.0.0.255')) as IpAddress), '10.0.1.0');
  t.equal(nextIp(parseIp('255.255.255.255')), undefined, 'no wrap at the top');
  t.equal(previousIp(parseIp('0.0.0.0')), undefined, 'no wrap at the bottom');
  t.equal(nextIp(parseIp('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')), undefined);
  t.equal(formatIp(nextIp(parseIp('::ffff')) as IpAddress), '::1:0');
  t.equal(formatIp(ipAdd(parseIp('10.0.0.0'), 300n) as IpAddress), '10.0.1.44');
  t.ok(ipEquals(parseIp('::0:1'), parseIp('::1')));
  t.notOk(ipEquals(parseIp('0.0.0.1'), parseIp('::1')));
  t.ok(compareIp(parseIp('10.0.0.1'), parseIp('10.0.0.2')) < 0);
  t.ok(compareIp(parseIp('255.255.255.255'), parseIp('::')) < 0, 'IPv4 sorts before IPv6');
  t.equal(compareIp(parseIp('::1'), parseIp('::1')), 0);
});

t.test('bytes round-trip in network order', async (t) => {
  t.same([...ipToBytes(parseIp('10.0.0.1'))], [10, 0, 0, 1]);
  t.same([...ipToBytes(parseIp('2001:db8::1'))], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  t.equal(formatIp(ipFromBytes(Buffer.from([192, 168, 0, 1]))), '192.168.0.1');
  t.throws(() => ipFromBytes(Buffer.alloc(5)), IpParseError);
  t.throws(() => ipFromBytes(Buffer.alloc(0)), IpParseError);
});

// Property tests against Node's own parsers as a naive reference. Seeded so a failure replays.
t.test('agrees with node:net and WHATWG URL on random addresses', async (t) => {
  const seed = Number(process.env['BT_SEED'] ?? Date.now() % 1_000_000);
  t.comment(`seed ${seed} (BT_SEED=${seed} replays)`);
  let state = seed >>> 0 || 1;
  const random16 = () => { state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state & 0xffff; };
  let mismatches = 0;
  for (let round = 0; round < 2000; round++) {
    // Bias towards zero groups so that "::" compression is exercised.
    const groups = [...Array(8)].map(() => (random16() % 3 === 0 ? 0 : random16()));
    const value = groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
    const text = formatIp({ family: 6, value });
    if (!ipEquals(parseIp(text), { family: 6, value }) || isIP(text) !== 6) mismatches++;
    if (value >> 32n !== 0xffffn && new URL(`http://[${text}]/`).hostname !== `[${text}]`) mismatches++;
    const v4 = BigInt((random16() << 16) | random16()) & 0xffffffffn;
    const v4Text = formatIp({ family: 4, value: v4 });
    const prefixLength = random16() % 33;
    const cidr = makeCidr({ family: 4, value: v4 }, prefixLength);
    const probe = { family: 4 as const, value: (v4 ^ BigInt(1 << (random16() % 32))) & 0xffffffffn };
    const list = new BlockList();
    list.addSubnet(formatIp(cidrNetwork(cidr)), prefixLength, 'ipv4');
    if (isIP(v4Text) !== 4 || list.check(formatIp(probe), 'ipv4') !== cidrContains(cidr, probe)) mismatches++;
  }
  t.equal(mismatches, 0, 'no disagreement with the reference parsers');
});
