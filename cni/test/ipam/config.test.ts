import t from 'tap';
import { CniError } from '../../src/errors.js';
import { DEFAULT_DATA_DIR, parseIpamConfig } from '../../src/ipam/config.js';
import { describeRangeSet } from '../../src/ipam/range.js';
import { parseResolvConf } from '../../src/ipam/resolv-conf.js';
import { parsePluginConfig } from '../../src/spec/config.js';
import { formatIp } from '../../src/net/ip.js';

function ipamConfig(ipam: unknown, extra: object = {}, cniArgs = new Map<string, string>()) {
  const config = parsePluginConfig(JSON.stringify({ cniVersion: '1.1.0', name: 'net1', type: 'berth-bridge', ipam, ...extra }), { command: 'ADD' });
  return parseIpamConfig(config, cniArgs);
}

function failure(ipam: unknown, extra: object = {}, cniArgs = new Map<string, string>()): { code: number; message: string } {
  try {
    ipamConfig(ipam, extra, cniArgs);
  } catch (error) {
    if (error instanceof CniError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a CniError');
}

t.test('host-local forms: legacy subnet, ranges, runtimeConfig.ipRanges prepended', async (t) => {
  const legacy = ipamConfig({ type: 'berth-ipam', subnet: '10.0.0.0/24', rangeStart: '10.0.0.50', gateway: '10.0.0.254' });
  t.equal(legacy.rangeSets.length, 1);
  t.equal(describeRangeSet(legacy.rangeSets[0] ?? []), '10.0.0.50-10.0.0.254');
  t.equal(legacy.dataDir, DEFAULT_DATA_DIR);
  t.equal(legacy.network, 'net1');
  const ranges = ipamConfig({
    type: 'berth-ipam', dataDir: '/tmp/x',
    ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: '10.0.1.0/24' }], [{ subnet: 'fd00::/64' }]],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00::1' }],
  }, { runtimeConfig: { ipRanges: [[{ subnet: '192.168.5.0/24' }]] } });
  t.same(ranges.rangeSets.map(describeRangeSet), ['192.168.5.1-192.168.5.254', '10.0.0.1-10.0.0.254,10.0.1.1-10.0.1.254', 'fd00::1-fd00::ffff:ffff:ffff:ffff']);
  t.same(ranges.routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00::1' }]);
  t.equal(ranges.dataDir, '/tmp/x');
});

t.test('requested IPs: runtimeConfig.ips and args.cni.ips; CNI_ARGS IP only without args.cni.ips', async (t) => {
  const ipam = { type: 'berth-ipam', subnet: '10.0.0.0/24' };
  const env = new Map([['IP', '10.0.0.9'], ['IgnoreUnknown', '1']]);
  t.same(ipamConfig(ipam, { runtimeConfig: { ips: ['10.0.0.5/24'] } }, env).requestedIps.map(formatIp), ['10.0.0.5', '10.0.0.9']);
  t.same(ipamConfig(ipam, { args: { cni: { ips: ['10.0.0.6'] } } }, env).requestedIps.map(formatIp), ['10.0.0.6']);
  t.same(ipamConfig(ipam, { runtimeConfig: { ips: ['10.0.0.5', '10.0.0.5/24'] } }).requestedIps.map(formatIp), ['10.0.0.5'], 'duplicates collapse');
  t.equal(failure(ipam, { runtimeConfig: { ips: ['ten'] } }).code, 7);
  t.equal(failure(ipam, {}, new Map([['IP', 'ten']])).code, 4, 'a bad CNI_ARGS IP is an environment error');
});

t.test('hostile and broken IPAM configs are code 7 naming what is wrong', async (t) => {
  const cases: [string, unknown, object, RegExp][] = [
    ['no ipam', undefined, {}, /"ipam" is required/],
    ['no ranges', { type: 'berth-ipam' }, {}, /no IP ranges/],
    ['subnet is a number', { type: 'berth-ipam', subnet: 10 }, {}, /"ipam.subnet"/],
    ['ranges is an object', { type: 'berth-ipam', ranges: {} }, {}, /"ipam.ranges"/],
    ['a range set is not a list', { type: 'berth-ipam', ranges: [{ subnet: '10.0.0.0/24' }] }, {}, /"ipam.ranges\[0\]"/],
    ['an empty range set', { type: 'berth-ipam', ranges: [[]] }, {}, /empty range set/],
    ['a range without subnet', { type: 'berth-ipam', ranges: [[{ rangeStart: '10.0.0.1' }]] }, {}, /"ipam.ranges\[0\]\[0\].subnet" is required/],
    ['overlapping sets', { type: 'berth-ipam', ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.0.0/16' }]] }, {}, /overlap/],
    ['relative dataDir', { type: 'berth-ipam', subnet: '10.0.0.0/24', dataDir: 'data' }, {}, /absolute/],
    ['dataDir is a list', { type: 'berth-ipam', subnet: '10.0.0.0/24', dataDir: ['/x'] }, {}, /"ipam.dataDir"/],
    ['route without dst', { type: 'berth-ipam', subnet: '10.0.0.0/24', routes: [{ gw: '10.0.0.1' }] }, {}, /"ipam.routes\[0\].dst"/],
    ['route dst not CIDR', { type: 'berth-ipam', subnet: '10.0.0.0/24', routes: [{ dst: 'default' }] }, {}, /"ipam.routes\[0\].dst"/],
    ['too many range sets', { type: 'berth-ipam', ranges: Array.from({ length: 17 }, (_, i) => [{ subnet: `10.${i}.0.0/24` }]) }, {}, /limit of 16/],
    ['too many routes', { type: 'berth-ipam', subnet: '10.0.0.0/24', routes: Array.from({ length: 1025 }, () => ({ dst: '0.0.0.0/0' })) }, {}, /limit of 1024/],
    ['too many requested IPs', { type: 'berth-ipam', subnet: '10.0.0.0/24' }, { runtimeConfig: { ips: Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 2}`) } }, /limit of 16/],
  ];
  for (const [label, ipam, extra, message] of cases) {
    const { code, message: text } = failure(ipam, extra);
    t.equal(code, 7, `${label}: code 7`);
    t.match(text, message, `${label}: says what`);
  }
});

t.test('resolv.conf becomes dns as host-local reads it', async (t) => {
  const text = [
    '# generated', '; also a comment', 'nameserver 10.0.0.53', 'nameserver  2001:db8::53 ', 'domain corp.example',
    'search a.example b.example', 'search c.example', 'options ndots:5 edns0', 'sortlist 10.0.0.0', 'nameserver', '',
  ].join('\n');
  t.same(parseResolvConf(text), {
    nameservers: ['10.0.0.53', '2001:db8::53'], domain: 'corp.example', search: ['a.example', 'b.example', 'c.example'],
    options: ['ndots:5', 'edns0'],
  });
  t.same(parseResolvConf(''), {});
});

t.test('the default dataDir is $BERTH_ROOT/ipam when BERTH_ROOT is set; ipam.dataDir wins over both', async (t) => {
  const config = parsePluginConfig(JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 't', ipam: { type: 'berth-ipam', subnet: '10.0.0.0/24' } }), { command: 'ADD' });
  t.equal(parseIpamConfig(config, new Map(), { BERTH_ROOT: '/tmp/root' }).dataDir, '/tmp/root/ipam');
  t.equal(parseIpamConfig(config, new Map(), { BERTH_ROOT: 'relative' }).dataDir, DEFAULT_DATA_DIR, 'a relative BERTH_ROOT is ignored');
  t.equal(parseIpamConfig(config, new Map(), {}).dataDir, DEFAULT_DATA_DIR);
  const explicit = parsePluginConfig(JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 't', ipam: { type: 'berth-ipam', subnet: '10.0.0.0/24', dataDir: '/x' } }), { command: 'ADD' });
  t.equal(parseIpamConfig(explicit, new Map(), { BERTH_ROOT: '/tmp/root' }).dataDir, '/x');
});
