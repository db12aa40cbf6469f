import t from 'tap';
import { networksCollection, overlayLeasesCollection, parseNetworkRecord, parseOverlayLease, type NetworkRecord } from '../../src/networks/schema.js';

const vxlan: NetworkRecord = {
  name: 'ovl', driver: 'vxlan', subnets: ['10.244.0.0/16'], vni: 4096, hostPrefixLength: 24, options: { mtu: 1400 }, createdAt: '2026-12-03T00:00:00.000Z',
};
const bridge: NetworkRecord = { name: 'web', driver: 'bridge', subnets: ['10.89.5.0/24', 'fd00:5::/64'], gateway: '10.89.5.1', options: {}, createdAt: '2026-12-03T00:00:00.000Z' };

t.test('network records round-trip through the collection codec unchanged', async (t) => {
  for (const record of [vxlan, bridge, { ...vxlan, name: 'static', hostPrefixLength: undefined, peers: [{ address: '192.168.50.1', subnet: '10.244.1.0/24' }] }]) {
    const decoded = networksCollection.decode(networksCollection.encode(record), '/berth/v1/networks/x');
    t.same(decoded, JSON.parse(JSON.stringify(record)), `${record.name} round-trips`);
  }
});

t.test('hostile or wrong network records are refused with the field named', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an object', 'ovl', /must be an object/],
    ['bad name', { ...vxlan, name: '../etc' }, /letters, digits/],
    ['unknown driver', { ...vxlan, driver: 'ipvlan' }, /driver must be one of/],
    ['host bits set', { ...vxlan, subnets: ['10.244.0.1/16'] }, /host bits set \(did you mean 10\.244\.0\.0\/16\?\)/],
    ['not a CIDR', { ...bridge, subnets: ['10.89.5.0/33'] }, /is not a CIDR/],
    ['no subnets', { ...bridge, subnets: [] }, /subnets must be a list/],
    ['vxlan with two subnets', { ...vxlan, subnets: ['10.244.0.0/16', '10.245.0.0/16'] }, /one IPv4 subnet/],
    ['vxlan over IPv6', { ...vxlan, subnets: ['fd00::/48'] }, /one IPv4 subnet/],
    ['vxlan without vni', { ...vxlan, vni: undefined }, /needs its vni/],
    ['vni out of range', { ...vxlan, vni: 0x1000000 }, /vni must be an integer/],
    ['vxlan with a gateway', { ...vxlan, gateway: '10.244.0.1' }, /no gateway/],
    ['vxlan with neither peers nor leases', { ...vxlan, hostPrefixLength: undefined }, /either static peers or a hostPrefixLength/],
    ['host prefix wider than the range', { ...vxlan, hostPrefixLength: 12 }, /wider than the range/],
    ['vni on a bridge', { ...bridge, vni: 5 }, /vni is for vxlan networks only/],
    ['reserved option', { ...bridge, options: { ipam: {} } }, /option ipam is set by Berth/],
    ['option that is not a key', { ...bridge, options: { 'a b': 1 } }, /is not a plugin key/],
    ['too many options', { ...bridge, options: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])) }, /more than 32/],
    ['peer with a bad address', { ...vxlan, hostPrefixLength: undefined, peers: [{ address: 'x', subnet: '10.244.1.0/24' }] }, /peers\[0\]\.address/],
  ];
  for (const [what, value, pattern] of cases) t.throws(() => parseNetworkRecord(value), pattern, what);
  t.throws(() => networksCollection.encode({ ...vxlan, name: 'bad name' }), /Cannot store a value in networks/, 'the collection refuses to store one');
});

t.test('overlay leases: checked fields, canonical MAC, keyed by the holder node', async (t) => {
  const lease = { network: 'ovl', vni: 4096, subnet: '10.244.3.0/24', vtep: '10.77.0.13', mac: '0a:12:34:56:78:9a', hostname: 'h3' };
  t.same(parseOverlayLease(lease), lease);
  t.throws(() => parseOverlayLease({ ...lease, mac: '0A:12:34:56:78:9A' }), /not written canonically/);
  t.throws(() => parseOverlayLease({ ...lease, subnet: '10.244.3.1/24' }), /host bits/);
  t.throws(() => parseOverlayLease({ ...lease, vtep: 'host' }), /vtep "host" is not an IP address/);
  t.equal(overlayLeasesCollection('n1234').key('ovl'), '/berth/v1/overlay/n1234/ovl');
  t.throws(() => overlayLeasesCollection('n1234').key('a/b'), /Invalid id/);
});
