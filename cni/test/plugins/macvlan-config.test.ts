import t from 'tap';
import { CniError } from '../../src/errors.js';
import { parseMacvlanConfig } from '../../src/plugins/macvlan/config.js';
import { buildRequest } from '../../src/skel/request.js';

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/x' };
const parse = (extra: object, args = '') =>
  parseMacvlanConfig(buildRequest({ ...env, CNI_ARGS: args }, JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'berth-macvlan', ...extra })));

t.test('defaults: bridge mode, no master, no mtu, no mac, no IPAM', async (t) => {
  t.same(parse({}), { master: undefined, mode: 'bridge', mtu: undefined, mac: undefined, linkInContainer: false, hasIpam: false });
  t.equal(parse({ mode: '' }).mode, 'bridge', 'an empty mode is bridge, as the reference');
  t.equal(parse({ mtu: 0 }).mtu, undefined, 'mtu 0 is the default');
  t.equal(parse({ ipam: { type: 'host-local' } }).hasIpam, true);
});

t.test('every mode the reference knows', async (t) => {
  for (const mode of ['bridge', 'private', 'vepa', 'passthru']) t.equal(parse({ mode }).mode, mode);
});

t.test('MAC precedence: config < CNI_ARGS MAC < runtimeConfig.mac, normalised to lower case', async (t) => {
  t.equal(parse({ mac: '02:AA:BB:CC:DD:01' }).mac, '02:aa:bb:cc:dd:01');
  t.equal(parse({ mac: '02:aa:bb:cc:dd:01' }, 'MAC=02:aa:bb:cc:dd:02').mac, '02:aa:bb:cc:dd:02');
  t.equal(parse({ mac: '02:aa:bb:cc:dd:01', runtimeConfig: { mac: '02:aa:bb:cc:dd:03' } }, 'MAC=02:aa:bb:cc:dd:02').mac, '02:aa:bb:cc:dd:03');
});

t.test('hostile or wrong input is code 7 naming the field', async (t) => {
  const cases: [string, object, RegExp, string?][] = [
    ['unknown mode', { mode: 'source' }, /"mode" "source"/],
    ['mode of the wrong type', { mode: 4 }, /"mode" must be a string/],
    ['negative mtu', { mtu: -1 }, /"mtu"/],
    ['huge mtu', { mtu: 1e9 }, /"mtu"/],
    ['master with a slash', { master: '../eth0' }, /"master"/],
    ['master too long', { master: 'x'.repeat(300) }, /longer than 15/],
    ['master of the wrong type', { master: ['eth0'] }, /"master" must be a string/],
    ['malformed mac', { mac: 'zz:zz' }, /"mac" "zz:zz"/],
    ['multicast mac', { mac: '01:00:5e:00:00:01' }, /multicast/],
    ['malformed CNI_ARGS MAC', {}, /CNI_ARGS MAC/, 'MAC=nope'],
    ['linkInContainer not a boolean', { linkInContainer: 'yes' }, /"linkInContainer" must be a boolean/],
  ];
  for (const [name, extra, message, args] of cases) {
    let caught: unknown;
    try {
      parse(extra, args);
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof CniError && caught.code === 7 && message.test(caught.message), `${name}: ${String(caught)}`);
  }
});
