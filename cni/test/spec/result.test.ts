import t from 'tap';
import { encodeResult, parseResult, type Result } from '../../src/spec/result.js';

const full: Result = {
  interfaces: [
    { name: 'cni0', mac: '00:11:22:33:44:55' },
    { name: 'eth0', mac: '99:88:77:66:55:44', mtu: 1400, sandbox: '/run/netns/blue', socketPath: '/s', pciID: '0000:00:01.0' },
  ],
  ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 }, { address: '2001:db8::5/64', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400, priority: 5 }],
  dns: { nameservers: ['10.1.0.1'], search: ['corp'] },
};

t.test('1.x results keep every field and carry the requested cniVersion first', async (t) => {
  for (const version of ['1.0.0', '1.1.0'] as const) {
    const encoded = encodeResult(full, version);
    t.same(Object.keys(encoded)[0], 'cniVersion');
    t.same(encoded, { cniVersion: version, ...full });
  }
});

t.test('0.3.x/0.4.0 results get ips[].version and lose the 1.0 interface fields', async (t) => {
  for (const version of ['0.3.0', '0.3.1', '0.4.0'] as const) {
    const encoded = encodeResult(full, version);
    t.same(encoded, {
      cniVersion: version,
      interfaces: [{ name: 'cni0', mac: '00:11:22:33:44:55' }, { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/run/netns/blue' }],
      ips: [{ version: '4', address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 }, { version: '6', address: '2001:db8::5/64', interface: 1 }],
      routes: full.routes,
      dns: full.dns,
    }, version);
  }
});

t.test('down then up again gives back what the old version can carry', async (t) => {
  const old = encodeResult(full, '0.3.1');
  const again = parseResult(old, 'prevResult');
  t.same(encodeResult(again, '1.1.0'), encodeResult({ ...full, interfaces: [full.interfaces?.[0] ?? { name: '' }, { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/run/netns/blue' }] }, '1.1.0'));
});

t.test('empty lists and empty DNS are left out; an IPAM result has no interfaces', async (t) => {
  t.same(encodeResult({ interfaces: [], ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }], routes: [], dns: {} }, '1.1.0'),
    { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }] });
  t.same(encodeResult({}, '0.4.0'), { cniVersion: '0.4.0' });
});

t.test('a bad ips[].version is refused', async (t) => {
  t.throws(() => parseResult({ ips: [{ version: '5', address: '10.0.0.2/24' }] }), { code: 7 });
});
