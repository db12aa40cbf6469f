import t from 'tap';
import { CniError } from '../../src/errors.js';
import { formatCidr, formatIp } from '../../src/net/ip.js';
import { parseVxlanConfig } from '../../src/plugins/vxlan/config.js';
import { ipamRequestFor } from '../../src/plugins/vxlan/ipam-request.js';
import { parseCidr, parseIp } from '../../src/net/ip.js';
import { buildRequest } from '../../src/skel/request.js';

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/x' };
const base = { cniVersion: '1.1.0', name: 'ovl', type: 'berth-vxlan', vni: 42, subnet: '10.244.0.0/16', ipam: { type: 'berth-ipam', dataDir: '/tmp/x' } };
const request = (extra: object) => buildRequest(env, JSON.stringify({ ...base, ...extra }));
const parse = (extra: object) => parseVxlanConfig(request(extra));

t.test('defaults: port 4789, devices named after the VNI, masquerade and a default route on', async (t) => {
  const config = parse({ peers: [{ address: '192.168.1.1', subnet: '10.244.1.0/24' }] });
  t.match(config.network, { name: 'ovl', vni: 42, port: 4789, device: 'bvx42', bridge: 'bvb42', directRouting: false, mtu: undefined });
  t.equal(formatCidr(config.network.cidr), '10.244.0.0/16');
  t.equal(config.peers?.length, 1);
  t.equal(config.ipMasq, true);
  t.equal(config.isDefaultGateway, true);
  t.equal(config.localAddress, undefined);
  t.equal(parse({}).peers, undefined, 'no static peers: the agent must supply them');
  const custom = parse({ port: 8472, device: 'vx-ovl', bridge: 'br-ovl', mtu: 1400, directRouting: true, localAddress: 'fd00::1', ipMasq: false });
  t.match(custom.network, { port: 8472, device: 'vx-ovl', bridge: 'br-ovl', mtu: 1400, directRouting: true });
  t.equal(formatIp(custom.localAddress ?? parseIp('0.0.0.0')), 'fd00::1');
});

t.test('wrong or hostile values are code 7 naming the field', async (t) => {
  const cases: [string, object, RegExp][] = [
    ['no vni', { vni: undefined }, /"vni" is required/],
    ['vni 0', { vni: 0 }, /"vni" is required/],
    ['vni too big', { vni: 0x1000000 }, /"vni"/],
    ['port 0', { port: 0 }, /"port"/],
    ['no subnet', { subnet: undefined }, /"subnet".*is required/],
    ['bad subnet', { subnet: 'x' }, /not a CIDR/],
    ['host bits', { subnet: '10.244.1.0/16' }, /host bits/],
    ['IPv6 range', { subnet: 'fd00::/48' }, /must be IPv4/],
    ['tiny mtu', { mtu: 50 }, /below 68/],
    ['bad device name', { device: 'a/b' }, /"device"/],
    ['device equals bridge', { device: 'same0', bridge: 'same0' }, /both same0/],
    ['bad localAddress', { localAddress: 'here' }, /"localAddress"/],
    ['no ipam', { ipam: undefined }, /"ipam" with a "type" is required/],
    ['peers not an array', { peers: {} }, /"peers" must be an array/],
    ['hostSubnet outside the range', { hostSubnet: '10.9.1.0/24', localAddress: '192.168.1.1' }, /"hostSubnet" 10\.9\.1\.0\/24 is not inside/],
    ['hostSubnet with host bits', { hostSubnet: '10.244.1.1/24', localAddress: '192.168.1.1' }, /not a canonical CIDR/],
    ['hostSubnet without localAddress', { hostSubnet: '10.244.1.0/24' }, /needs "localAddress"/],
    ['hostSubnet and peers', { hostSubnet: '10.244.1.0/24', localAddress: '192.168.1.1', peers: [] }, /exclude each other/],
  ];
  for (const [name, extra, message] of cases) {
    let caught: unknown;
    try {
      parse(extra);
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof CniError && caught.code === 7 && message.test(caught.message), `${name}: ${String(caught)}`);
  }
});

t.test('a leased host (berthd\'s conflist): hostSubnet and localAddress, no peers', async (t) => {
  const config = parse({ hostSubnet: '10.244.7.0/24', localAddress: '192.168.1.7' });
  t.equal(formatCidr(config.hostSubnet ?? parseCidr('0.0.0.0/0')), '10.244.7.0/24');
  t.equal(config.peers, undefined);
  t.equal(parse({}).hostSubnet, undefined);
});

t.test('the IPAM gets this host\'s subnet unless its section names ranges', async (t) => {
  const injected = ipamRequestFor(request({}), parseCidr('10.244.3.0/24'), parseIp('10.244.3.1'));
  t.same(injected.config.ipam?.raw, { type: 'berth-ipam', dataDir: '/tmp/x', ranges: [[{ subnet: '10.244.3.0/24', gateway: '10.244.3.1' }]] });
  t.same(JSON.parse(injected.stdin).ipam, injected.config.ipam?.raw, 'stdin carries the same, for an exec\'d IPAM');
  const own = request({ ipam: { type: 'host-local', subnet: '10.244.9.0/24' } });
  t.equal(ipamRequestFor(own, parseCidr('10.244.3.0/24'), undefined), own, 'an explicit subnet is left alone');
});
