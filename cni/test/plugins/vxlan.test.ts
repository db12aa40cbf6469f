/**
 * berth-vxlan on the real kernel, two or three "hosts" on a bridged underlay, the plugin in-process per host.
 * The many-host scenarios (all pairs, captures, host removal under traffic) are in conformance/test/overlay.
 */
import t, { type Test } from 'tap';
import { readdirSync } from 'node:fs';
import { overlayRouteProtocol } from '../../src/overlay/routes.js';
import { vtepMac } from '../../src/overlay/vtep.js';
import { parseIp } from '../../src/net/ip.js';
import { attachment, callPlugin, hasLink, ipJson, makeNetns, pings, sh, shStatus, type Ns } from './macvlan-helpers.js';
import { buildUnderlay, outsideV4, overlayConf, peersOf, startWhoamiServer, whoami, type TestHostNode } from './vxlan-helpers.js';

interface AddResult { interfaces: { name: string; mac?: string; mtu?: number; sandbox?: string }[]; ips: { address: string; gateway: string; interface: number }[]; routes: { dst: string; gw?: string }[] }

async function addContainer(t: Test, host: TestHostNode, peers: object[], id: string, extra: object = {}): Promise<{ ns: Ns; result: AddResult }> {
  const ns = makeNetns(t, 'vxc');
  const add = await callPlugin(host.plugin, attachment('ADD', id, ns.path), overlayConf(host, peers, extra));
  t.equal(add.code, 0, `ADD ${id} on ${host.address}: ${add.stdout}`);
  return { ns, result: add.output as unknown as AddResult };
}

const reservations = (host: TestHostNode): string[] => {
  try {
    return readdirSync(`${host.dataDir}/bt-ovl`).filter((name) => /^\d/.test(name));
  } catch {
    return [];
  }
};

t.test('two hosts: containers reach each other over VXLAN at MTU 1450; entries, result, CHECK and DEL', async (t) => {
  const { hosts } = buildUnderlay(t, 2);
  const [h1, h2] = hosts as [TestHostNode, TestHostNode];
  const peers = peersOf(hosts);
  const c1 = await addContainer(t, h1, peers, 'ctr1');
  const c2 = await addContainer(t, h2, peers, 'ctr2');
  t.same(c1.result.ips, [{ address: '10.244.1.2/24', gateway: '10.244.1.1', interface: 2 }], 'host 1 allocates from its own subnet');
  t.same(c2.result.ips, [{ address: '10.244.2.2/24', gateway: '10.244.2.1', interface: 2 }], 'host 2 from its own');
  t.same(c1.result.routes, [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }]);
  t.same(c1.result.interfaces.map((item) => [item.name, item.sandbox, item.mtu]),
    [['bvb4242', undefined, undefined], [c1.result.interfaces[1]?.name, undefined, undefined], ['eth0', c1.ns.path, 1450]]);
  t.match(c1.result.interfaces[1]?.name, /^bvv[0-9a-f]{11}$/);

  const [vx] = ipJson<{ mtu: number; address: string; linkinfo: { info_data: { id: number; port: number; local: string; learning: boolean } } }[]>(h1.ns, 'link show bvx4242');
  t.match(vx?.linkinfo.info_data, { id: 4242, port: 4789, local: '10.123.0.1', learning: false }, 'VXLAN device: VNI, port, local VTEP, no learning');
  t.equal(vx?.mtu, 1450, 'underlay 1500 − 50');
  t.equal(vx?.address, vtepMac(4242, parseIp('10.123.0.1')), 'the derived VTEP MAC');
  t.equal(ipJson<{ mtu: number }[]>(c1.ns, 'link show eth0')[0]?.mtu, 1450, 'the container link too');
  const fdb = JSON.parse(sh(h1.ns, 'bridge -j fdb show dev bvx4242')) as { mac: string; dst?: string; flags?: string[]; state?: string }[];
  t.ok(fdb.some((entry) => entry.mac === vtepMac(4242, parseIp('10.123.0.2')) && entry.dst === '10.123.0.2' && entry.state === 'permanent'), 'FDB: host 2\'s VTEP MAC → its underlay address');
  const neigh = ipJson<{ dst: string; lladdr: string; state: string[] }[]>(h1.ns, 'neigh show dev bvx4242');
  t.ok(neigh.some((entry) => entry.dst === '10.244.2.0' && entry.lladdr === vtepMac(4242, parseIp('10.123.0.2')) && entry.state.includes('PERMANENT')), 'neighbour: host 2\'s next hop');
  t.match(sh(h1.ns, 'ip route show 10.244.2.0/24'), new RegExp(`10\\.244\\.2\\.0/24 via 10\\.244\\.2\\.0 dev bvx4242 proto ${overlayRouteProtocol} onlink`), 'an on-link route to host 2\'s subnet');

  t.ok(pings(c1.ns, '10.244.2.2'), 'container 1 (host 1) reaches container 2 (host 2)');
  t.ok(pings(c2.ns, '10.244.1.2'), 'and back');
  t.equal(shStatus(c1.ns, 'ping -c1 -W1 -M do -s 1422 10.244.2.2'), 0, 'a 1450-byte packet with DF set crosses');
  t.not(shStatus(c1.ns, 'ping -c1 -W1 -M do -s 1423 10.244.2.2'), 0, 'a 1451-byte one does not leave the container');

  const check = await callPlugin(h1.plugin, attachment('CHECK', 'ctr1', c1.ns.path), { ...overlayConf(h1, peers), prevResult: c1.result });
  t.equal(check.code, 0, `CHECK: ${check.stdout}`);
  sh(h1.ns, `bridge fdb del ${vtepMac(4242, parseIp('10.123.0.2'))} dev bvx4242 dst 10.123.0.2 self`);
  const broken = await callPlugin(h1.plugin, attachment('CHECK', 'ctr1', c1.ns.path), { ...overlayConf(h1, peers), prevResult: c1.result });
  t.match(broken.output, { msg: /lacks peer entries: fdb/ }, 'CHECK sees a missing FDB entry');
  t.notOk(pings(c1.ns, '10.244.2.2'), 'and so does traffic');
  const c3 = await addContainer(t, h1, peers, 'ctr3');
  t.ok(pings(c3.ns, '10.244.2.2') && pings(c1.ns, '10.244.2.2'), 'the next ADD restores it');

  const del = await callPlugin(h1.plugin, attachment('DEL', 'ctr1', c1.ns.path), overlayConf(h1, peers));
  t.equal(del.code, 0, del.stdout);
  t.notOk(hasLink(c1.ns, 'eth0'), 'the container link is gone');
  t.notOk(hasLink(h1.ns, c1.result.interfaces[1]?.name ?? ''), 'so is its host end');
  t.same(reservations(h1), ['10.244.1.3'], 'its address is released, ctr3\'s kept');
  t.ok(hasLink(h1.ns, 'bvx4242') && hasLink(h1.ns, 'bvb4242'), 'the host\'s overlay devices stay');
  t.equal((await callPlugin(h1.plugin, attachment('DEL', 'ctr1', c1.ns.path), overlayConf(h1, peers))).code, 0, 'DEL again');
  sh(h1.ns, `ip netns del ${c3.ns.name}`);
  t.equal((await callPlugin(h1.plugin, attachment('DEL', 'ctr3', c3.ns.path), overlayConf(h1, peers))).code, 0, 'DEL after the netns is gone');
  t.same(reservations(h1), []);
  t.notOk(hasLink(h1.ns, c3.result.interfaces[1]?.name ?? ''), 'the host end died with the netns');
});

t.test('masquerade: out of the overlay as the host, inside the overlay as the container', async (t) => {
  const { ul, hosts } = buildUnderlay(t, 2);
  const [h1, h2] = hosts as [TestHostNode, TestHostNode];
  const peers = peersOf(hosts);
  const c1 = await addContainer(t, h1, peers, 'ctr1');
  const c2 = await addContainer(t, h2, peers, 'ctr2');
  await startWhoamiServer(t, ul, 7001);
  await startWhoamiServer(t, c2.ns, 7001);
  t.equal(whoami(c1.ns, outsideV4, 7001), '10.123.0.1', 'the underlay sees host 1\'s address');
  t.equal(whoami(c1.ns, '10.244.2.2', 7001), '10.244.1.2', 'container 2 sees container 1\'s own address');
  await callPlugin(h1.plugin, attachment('DEL', 'ctr1', c1.ns.path), overlayConf(h1, peers));
  const c3 = await addContainer(t, h1, peers, 'ctr3', { ipMasq: false });
  sh(ul, 'ip route add 10.244.1.0/24 via 10.123.0.1');
  t.equal(whoami(c3.ns, outsideV4, 7001), '10.244.1.3', 'ipMasq false: the container address leaves as is');
});

t.test('GC drops a host that left the peer list; a host not in the list cannot ADD; STATUS says why', async (t) => {
  const { hosts } = buildUnderlay(t, 3);
  const [h1, h2, h3] = hosts as [TestHostNode, TestHostNode, TestHostNode];
  const all = peersOf(hosts);
  const c1 = await addContainer(t, h1, all, 'ctr1');
  await addContainer(t, h3, all, 'ctr3');
  t.ok(pings(c1.ns, '10.244.3.2'), 'host 1 reaches host 3\'s container');
  const withoutH3 = peersOf([h1, h2]);
  const gc = await callPlugin(h1.plugin, { CNI_COMMAND: 'GC' }, { ...overlayConf(h1, withoutH3), 'cni.dev/valid-attachments': [{ containerID: 'ctr1', ifname: 'eth0' }] });
  t.equal(gc.code, 0, gc.stdout);
  t.notOk(pings(c1.ns, '10.244.3.2'), 'after GC with host 3 gone from the list, host 1 no longer reaches it');
  t.equal(sh(h1.ns, 'ip route show 10.244.3.0/24').trim(), '', 'its route is gone');
  t.notMatch(sh(h1.ns, 'bridge fdb show dev bvx4242'), /10\.123\.0\.3/, 'its FDB entry too');
  t.notMatch(sh(h1.ns, 'ip neigh show dev bvx4242'), /10\.244\.3\.0/, 'and its neighbour');
  t.same(reservations(h1), ['10.244.1.2'], 'GC kept the valid attachment\'s address');

  const c9 = makeNetns(t, 'vxc');
  const refused = await callPlugin(h3.plugin, attachment('ADD', 'ctr9', c9.path), overlayConf(h3, withoutH3));
  t.match(refused.output, { code: 7, msg: /not one of the 2 peers/ });
  const status = await callPlugin(h3.plugin, { CNI_COMMAND: 'STATUS' }, overlayConf(h3, withoutH3));
  t.match(status.output, { code: 50, msg: /not one of the 2 peers/ });
  t.equal((await callPlugin(h1.plugin, { CNI_COMMAND: 'STATUS' }, overlayConf(h1, withoutH3))).code, 0, 'STATUS on a member');
});

t.test('directRouting: peers on the same underlay subnet are routed without encapsulation', async (t) => {
  const { hosts } = buildUnderlay(t, 2);
  const [h1, h2] = hosts as [TestHostNode, TestHostNode];
  const peers = peersOf(hosts);
  const c1 = await addContainer(t, h1, peers, 'ctr1', { directRouting: true });
  const c2 = await addContainer(t, h2, peers, 'ctr2', { directRouting: true });
  t.match(sh(h1.ns, 'ip route show 10.244.2.0/24'), /via 10\.123\.0\.2 dev eth0 proto 98/, 'a plain route via host 2\'s underlay address');
  t.notMatch(sh(h1.ns, 'bridge fdb show dev bvx4242'), /dst/, 'no FDB entry');
  t.ok(pings(c1.ns, '10.244.2.2') && pings(c2.ns, '10.244.1.2'), 'the containers reach each other');
  const gc = await callPlugin(h1.plugin, { CNI_COMMAND: 'GC' }, { ...overlayConf(h1, peers), 'cni.dev/valid-attachments': [] });
  t.equal(gc.code, 0, 'switching directRouting off (GC reconciles)');
  t.match(sh(h1.ns, 'ip route show 10.244.2.0/24'), /via 10\.244\.2\.0 dev bvx4242 proto 98 onlink/, 'the route moved to the VXLAN device');
});

t.test('an IPv6 underlay: MTU 1500 − 70', async (t) => {
  const { hosts } = buildUnderlay(t, 2, { family: 6 });
  const [h1, h2] = hosts as [TestHostNode, TestHostNode];
  const peers = peersOf(hosts);
  const c1 = await addContainer(t, h1, peers, 'ctr1');
  await addContainer(t, h2, peers, 'ctr2');
  t.equal(ipJson<{ mtu: number }[]>(c1.ns, 'link show eth0')[0]?.mtu, 1430);
  t.ok(pings(c1.ns, '10.244.2.2'), 'IPv4 containers over an IPv6 underlay');
  t.equal(shStatus(c1.ns, 'ping -c1 -W1 -M do -s 1402 10.244.2.2'), 0, 'a 1430-byte packet with DF set crosses');
});

t.test('bad overlay configurations are code 7 and change nothing', async (t) => {
  const { hosts } = buildUnderlay(t, 2);
  const [h1] = hosts as [TestHostNode, TestHostNode];
  const ns = makeNetns(t, 'vxc');
  const cases: [string, object, RegExp][] = [
    ['overlapping subnets', { peers: [{ address: '10.123.0.1', subnet: '10.244.1.0/24' }, { address: '10.123.0.2', subnet: '10.244.1.128/25' }] }, /overlaps/],
    ['a subnet outside the range', { peers: [{ address: '10.123.0.1', subnet: '10.99.1.0/24' }] }, /not inside/],
    ['no peers', { peers: undefined }, /"peers" is required/],
    ['no vni', { vni: undefined }, /"vni" is required/],
    ['an IPv6 range', { subnet: 'fd00:244::/48' }, /must be IPv4/],
    ['an mtu above the underlay\'s allowance', { mtu: 1480 }, /exceeds 1450/],
    ['IPAM ranges outside this host\'s subnet', { ipam: { type: 'berth-ipam', dataDir: h1.dataDir, ranges: [[{ subnet: '10.244.0.0/16' }]] } }, /outside this host's subnet 10\.244\.1\.0\/24/],
    ['the same VTEP twice', { peers: [{ address: '10.123.0.1', subnet: '10.244.1.0/24' }, { address: '10.123.0.1', subnet: '10.244.2.0/24' }] }, /listed twice/],
  ];
  for (const [name, extra, message] of cases) {
    const result = await callPlugin(h1.plugin, attachment('ADD', 'ctrx', ns.path), overlayConf(h1, peersOf(hosts), extra));
    t.match(result.output, { code: 7, msg: message }, name);
  }
  t.notOk(hasLink(ns, 'eth0'), 'no container link');
  t.same(reservations(h1), [], 'no reservation');
});

t.test('concurrent ADDs on a fresh host all set it up once and get distinct addresses', async (t) => {
  const { hosts } = buildUnderlay(t, 2);
  const [h1, h2] = hosts as [TestHostNode, TestHostNode];
  const peers = peersOf(hosts);
  const remote = await addContainer(t, h2, peers, 'remote');
  const namespaces = Array.from({ length: 6 }, () => makeNetns(t, 'vxc'));
  const adds = await Promise.all(namespaces.map((ns, index) => callPlugin(h1.plugin, attachment('ADD', `par${index}`, ns.path), overlayConf(h1, peers))));
  t.same(adds.map((add) => add.code), [0, 0, 0, 0, 0, 0], adds.find((add) => add.code !== 0)?.stdout ?? 'all six succeeded');
  const addresses = adds.map((add) => (add.output as unknown as AddResult).ips[0]?.address);
  t.equal(new Set(addresses).size, 6, `distinct: ${addresses.join(' ')}`);
  t.equal(ipJson<unknown[]>(h1.ns, 'link show type vxlan').length, 1, 'one VXLAN device');
  t.equal(sh(h1.ns, 'ip route show proto 98').trim().split('\n').length, 1, 'one route to the other host');
  for (const ns of namespaces) t.ok(pings(ns, remote.result.ips[0]?.address.split('/')[0] ?? ''), `${ns.name} reaches the remote container`);
});
