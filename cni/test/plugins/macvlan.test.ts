/**
 * berth-macvlan on the real kernel: a "host" netns whose uplink is a veth to a "peer" netns (the LAN), and
 * "container" namespaces that get macvlans of the uplink. The plugin runs in-process through the skeleton with the
 * host netns as its host.
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { createBerthMacvlan } from '../../src/plugins/macvlan/plugin.js';
import { attachment, callPlugin, hasLink, ipJson, makeNetns, pings, sh, tempDir, type Ns, type Teardown } from './macvlan-helpers.js';

interface Lan { host: Ns; peer: Ns; dataDir: string }

/** host:up0 <-> peer:eth0 (10.61.0.254/24); the host has a default route out of up0. */
function lan(t: Teardown): Lan {
  const host = makeNetns(t, 'mvh');
  const peer = makeNetns(t, 'mvp');
  sh(host, `ip link add up0 type veth peer name eth0 netns ${peer.path} && ip link set up0 up && ` +
    'ip addr add 10.61.0.1/24 dev up0 && ip route add default via 10.61.0.254');
  sh(peer, 'ip link set eth0 up && ip addr add 10.61.0.254/24 dev eth0');
  return { host, peer, dataDir: tempDir(t, 'mvipam') };
}

function conf(net: Lan, extra: object = {}, ipam: object | null = {}): object {
  return {
    cniVersion: '1.1.0', name: 'bt-mv', type: 'berth-macvlan', master: 'up0',
    ...(ipam === null ? {} : {
      ipam: { type: 'berth-ipam', dataDir: net.dataDir, subnet: '10.61.0.0/24', rangeStart: '10.61.0.10', rangeEnd: '10.61.0.99', routes: [{ dst: '0.0.0.0/0', gw: '10.61.0.254' }], ...ipam },
    }),
    ...extra,
  };
}

interface LinkJson { ifname: string; address: string; mtu: number; operstate: string; linkinfo?: { info_kind: string; info_data?: { mode?: string } } }

const reservations = (net: Lan): string[] => {
  try {
    return readdirSync(`${net.dataDir}/bt-mv`).filter((name) => /^\d/.test(name)).sort();
  } catch {
    return [];
  }
};

t.test('bridge mode: two containers reach each other and the peer on the uplink; DEL removes everything', async (t) => {
  const net = lan(t);
  const plugin = createBerthMacvlan({ hostNetns: net.host.path });
  const c1 = makeNetns(t, 'mvc');
  const c2 = makeNetns(t, 'mvc');
  const add1 = await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), conf(net));
  t.equal(add1.code, 0, add1.stdout);
  const result = add1.output as { cniVersion: string; interfaces: { name: string; mac: string; sandbox: string }[]; ips: { address: string; interface: number }[]; routes: unknown[] };
  t.equal(result.cniVersion, '1.1.0');
  t.same(result.interfaces.map((item) => [item.name, item.sandbox]), [['eth0', c1.path]], 'one interface, in the container');
  t.same(result.ips, [{ address: '10.61.0.10/24', gateway: '10.61.0.1', interface: 0 }], 'the IPAM address on interface 0');
  t.same(result.routes, [{ dst: '0.0.0.0/0', gw: '10.61.0.254' }]);
  const add2 = await callPlugin(plugin, attachment('ADD', 'ctr2', c2.path), conf(net));
  t.equal(add2.code, 0, add2.stdout);

  const [link] = ipJson<LinkJson[]>(c1, 'link show eth0');
  t.equal(link?.linkinfo?.info_kind, 'macvlan');
  t.equal(link?.linkinfo?.info_data?.mode, 'bridge');
  t.equal(link?.address, result.interfaces[0]?.mac, 'the result names the MAC the link has');
  t.match(sh(c1, 'ip route show default'), /default via 10\.61\.0\.254 dev eth0/);
  t.ok(pings(c1, '10.61.0.11'), 'container 1 reaches container 2 through the macvlan bridge');
  t.ok(pings(c2, '10.61.0.10'), 'and back');
  t.ok(pings(c1, '10.61.0.254'), 'container 1 reaches the peer on the uplink');
  t.ok(pings(c2, '10.61.0.254'), 'container 2 too');

  const check = await callPlugin(plugin, attachment('CHECK', 'ctr1', c1.path), { ...conf(net), prevResult: add1.output });
  t.equal(check.code, 0, `CHECK passes: ${check.stdout}`);

  for (const [id, ns] of [['ctr1', c1], ['ctr2', c2]] as const) {
    const del = await callPlugin(plugin, attachment('DEL', id, ns.path), conf(net));
    t.equal(del.code, 0, `DEL ${id}`);
    t.notOk(hasLink(ns, 'eth0'), `${id}: the macvlan is gone`);
  }
  t.same(reservations(net), [], 'both addresses released');
  const again = await callPlugin(plugin, attachment('DEL', 'ctr1', c1.path), conf(net));
  t.equal(again.code, 0, 'a repeated DEL succeeds');
});

t.test('private mode isolates the containers from each other but not from the peer; vepa needs a hairpin switch', async (t) => {
  for (const mode of ['private', 'vepa'] as const) {
    const net = lan(t);
    const plugin = createBerthMacvlan({ hostNetns: net.host.path });
    const c1 = makeNetns(t, 'mvc');
    const c2 = makeNetns(t, 'mvc');
    t.equal((await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), conf(net, { mode }))).code, 0);
    t.equal((await callPlugin(plugin, attachment('ADD', 'ctr2', c2.path), conf(net, { mode }))).code, 0);
    t.equal(ipJson<LinkJson[]>(c1, 'link show eth0')[0]?.linkinfo?.info_data?.mode, mode);
    t.notOk(pings(c1, '10.61.0.11'), `${mode}: container 1 does not reach container 2`);
    t.ok(pings(c1, '10.61.0.254'), `${mode}: container 1 reaches the peer`);
    t.ok(pings(c2, '10.61.0.254'), `${mode}: container 2 reaches the peer`);
  }
});

t.test('passthru takes the whole master; a second passthru on it fails and leaves nothing', async (t) => {
  const net = lan(t);
  const plugin = createBerthMacvlan({ hostNetns: net.host.path });
  const c1 = makeNetns(t, 'mvc');
  const c2 = makeNetns(t, 'mvc');
  const add = await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), conf(net, { mode: 'passthru' }));
  t.equal(add.code, 0, add.stdout);
  t.ok(pings(c1, '10.61.0.254'), 'the passthru container reaches the peer');
  const second = await callPlugin(plugin, attachment('ADD', 'ctr2', c2.path), conf(net, { mode: 'passthru' }));
  t.equal(second.code, 1, 'a second passthru fails');
  t.notOk(hasLink(c2, 'eth0'), 'and leaves no link');
  t.same(reservations(net), ['10.61.0.10'], 'nor a reservation');
});

t.test('mtu, mac (config < CNI_ARGS < runtimeConfig), and an mtu above the master\'s', async (t) => {
  const net = lan(t);
  const plugin = createBerthMacvlan({ hostNetns: net.host.path });
  const c1 = makeNetns(t, 'mvc');
  const c2 = makeNetns(t, 'mvc');
  const c3 = makeNetns(t, 'mvc');
  const add1 = await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), conf(net, { mtu: 1400, mac: '02:11:22:33:44:01' }));
  t.equal(add1.code, 0, add1.stdout);
  const [link1] = ipJson<LinkJson[]>(c1, 'link show eth0');
  t.equal(link1?.mtu, 1400);
  t.equal(link1?.address, '02:11:22:33:44:01', 'config mac');
  const add2 = await callPlugin(plugin, { ...attachment('ADD', 'ctr2', c2.path), CNI_ARGS: 'IgnoreUnknown=1;MAC=02:11:22:33:44:02' }, conf(net, { mac: '02:11:22:33:44:01' }));
  t.equal(ipJson<LinkJson[]>(c2, 'link show eth0')[0]?.address, '02:11:22:33:44:02', `CNI_ARGS MAC wins over config ${add2.stdout}`);
  const add3 = await callPlugin(plugin, { ...attachment('ADD', 'ctr3', c3.path), CNI_ARGS: 'MAC=02:11:22:33:44:02' },
    conf(net, { mac: '02:11:22:33:44:01', runtimeConfig: { mac: '02:11:22:33:44:03' } }));
  t.equal(ipJson<LinkJson[]>(c3, 'link show eth0')[0]?.address, '02:11:22:33:44:03', `runtimeConfig.mac wins ${add3.stdout}`);

  const c4 = makeNetns(t, 'mvc');
  const tooBig = await callPlugin(plugin, attachment('ADD', 'ctr4', c4.path), conf(net, { mtu: 9000 }));
  t.equal(tooBig.code, 1);
  t.match(tooBig.output, { code: 7, msg: /mtu.*9000.*1500.*up0/ });
  const badMac = await callPlugin(plugin, attachment('ADD', 'ctr4', c4.path), conf(net, { mac: '01:00:5e:00:00:01' }));
  t.match(badMac.output, { code: 7, msg: /multicast/ });
  t.notOk(hasLink(c4, 'eth0'), 'failed ADDs leave no link');
  t.same(reservations(net), ['10.61.0.10', '10.61.0.11', '10.61.0.12'], 'nor reservations');
});

t.test('without master: the default route\'s interface; without IPAM: an L2 link that is up', async (t) => {
  const net = lan(t);
  const plugin = createBerthMacvlan({ hostNetns: net.host.path });
  const c1 = makeNetns(t, 'mvc');
  const { master: _master, ...noMaster } = conf(net, {}, null) as { master: string };
  const add = await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), noMaster);
  t.equal(add.code, 0, add.stdout);
  t.notOk('ips' in (add.output ?? {}), 'no IPAM: no addresses in the result');
  const [link] = ipJson<LinkJson[]>(c1, 'link show eth0');
  t.not(link?.operstate, 'DOWN', 'the link is up');
  const hostIndex = ipJson<{ ifindex: number }[]>(net.host, 'link show up0')[0]?.ifindex;
  const parent = ipJson<{ link_index?: number; link_netnsid?: number }[]>(c1, 'link show eth0')[0];
  t.equal(parent?.link_index, hostIndex, 'its parent is up0, the default route\'s interface');
  sh(c1, 'ip addr add 10.61.0.77/24 dev eth0');
  t.ok(pings(c1, '10.61.0.254'), 'with an address added by hand it reaches the peer');

  sh(net.host, 'ip route del default');
  const c2 = makeNetns(t, 'mvc');
  const noRoute = await callPlugin(plugin, attachment('ADD', 'ctr2', c2.path), noMaster);
  t.match(noRoute.output, { code: 7, msg: /no default route/ });
});

t.test('linkInContainer: the master is a link inside the container netns', async (t) => {
  const net = lan(t);
  const plugin = createBerthMacvlan({ hostNetns: net.host.path });
  const c1 = makeNetns(t, 'mvc');
  sh(net.peer, `ip link add lan1 type veth peer name in0 netns ${c1.path} && ip link set lan1 up && ip addr add 10.62.0.254/24 dev lan1`);
  sh(c1, 'ip link set in0 up');
  const config = conf(net, { master: 'in0', linkInContainer: true }, { subnet: '10.62.0.0/24', rangeStart: '10.62.0.10', rangeEnd: '10.62.0.20', routes: [] });
  const add = await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), config);
  t.equal(add.code, 0, add.stdout);
  t.ok(pings(c1, '10.62.0.254'), 'the macvlan on the container\'s own link reaches the peer');
  t.equal((await callPlugin(plugin, attachment('CHECK', 'ctr1', c1.path), { ...config, prevResult: add.output })).code, 0, 'CHECK');
  t.equal((await callPlugin(plugin, attachment('DEL', 'ctr1', c1.path), config)).code, 0);
  t.notOk(hasLink(c1, 'eth0'));
  t.ok(hasLink(c1, 'in0'), 'the master stays');
});

t.test('CHECK fails when the address, the mode or the master is not as configured', async (t) => {
  const net = lan(t);
  const plugin = createBerthMacvlan({ hostNetns: net.host.path });
  const c1 = makeNetns(t, 'mvc');
  const add = await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), conf(net));
  const prevResult = add.output;
  const privateMode = await callPlugin(plugin, attachment('CHECK', 'ctr1', c1.path), { ...conf(net, { mode: 'private' }), prevResult });
  t.match(privateMode.output, { msg: /mode bridge.*private/ });
  const otherNetns = await callPlugin(plugin, attachment('CHECK', 'ctr1', '/run/netns/bt-none'), { ...conf(net), prevResult });
  t.equal(otherNetns.code, 1, 'CHECK of another netns fails');
  const noPrev = await callPlugin(plugin, attachment('CHECK', 'ctr1', c1.path), conf(net));
  t.match(noPrev.output, { code: 7, msg: /prevResult/ });
  sh(c1, 'ip addr del 10.61.0.10/24 dev eth0');
  const noAddress = await callPlugin(plugin, attachment('CHECK', 'ctr1', c1.path), { ...conf(net), prevResult });
  t.match(noAddress.output, { msg: /lacks address 10\.61\.0\.10\/24/ });
});

t.test('DEL without netns or with the netns gone still releases the address; GC releases the unlisted; STATUS', async (t) => {
  const net = lan(t);
  const plugin = createBerthMacvlan({ hostNetns: net.host.path });
  const c1 = makeNetns(t, 'mvc');
  const c2 = makeNetns(t, 'mvc');
  await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), conf(net));
  await callPlugin(plugin, attachment('ADD', 'ctr2', c2.path), conf(net));
  sh(net.host, `ip netns del ${c1.name}`);
  const gone = await callPlugin(plugin, attachment('DEL', 'ctr1', c1.path), conf(net));
  t.equal(gone.code, 0, `DEL with the netns gone: ${gone.stdout}`);
  const empty = await callPlugin(plugin, attachment('DEL', 'ctr1', ''), conf(net));
  t.equal(empty.code, 0, 'DEL with an empty CNI_NETNS');
  t.same(reservations(net), ['10.61.0.11']);

  const c3 = makeNetns(t, 'mvc');
  await callPlugin(plugin, attachment('ADD', 'ctr3', c3.path), conf(net));
  const gc = await callPlugin(plugin, { CNI_COMMAND: 'GC' }, { ...conf(net), 'cni.dev/valid-attachments': [{ containerID: 'ctr3', ifname: 'eth0' }] });
  t.equal(gc.code, 0, gc.stdout);
  t.same(reservations(net), ['10.61.0.12'], 'GC released ctr2\'s address and kept ctr3\'s (round-robin gave it .12)');

  t.equal((await callPlugin(plugin, { CNI_COMMAND: 'STATUS' }, conf(net))).code, 0, 'STATUS with the master present');
  const missing = await callPlugin(plugin, { CNI_COMMAND: 'STATUS' }, conf(net, { master: 'nope0' }));
  t.match(missing.output, { code: 50, msg: /nope0/ });
  const badNetns = await callPlugin(plugin, attachment('ADD', 'ctr9', '/run/netns/bt-does-not-exist'), conf(net));
  t.match(badNetns.output, { code: 4, msg: /bt-does-not-exist/ });
  t.same(reservations(net), ['10.61.0.12'], 'an ADD into a missing netns reserves nothing');
});

t.test('an ADD that fails after creating the link removes it; a 0.3.1 config gets a 0.3.1 result', async (t) => {
  const net = lan(t);
  const plugin = createBerthMacvlan({ hostNetns: net.host.path });
  const c1 = makeNetns(t, 'mvc');
  const exhausted = await callPlugin(plugin, attachment('ADD', 'ctr1', c1.path), conf(net, {}, { rangeStart: '10.61.0.10', rangeEnd: '10.61.0.10' }));
  t.equal(exhausted.code, 0);
  const c2 = makeNetns(t, 'mvc');
  const none = await callPlugin(plugin, attachment('ADD', 'ctr2', c2.path), conf(net, {}, { rangeStart: '10.61.0.10', rangeEnd: '10.61.0.10' }));
  t.equal(none.code, 1, 'the pool is exhausted');
  t.notOk(hasLink(c2, 'eth0'), 'the macvlan created before IPAM failed is removed');
  sh(c2, 'ip link add eth0 type veth peer name x0');
  const clash = await callPlugin(plugin, attachment('ADD', 'ctr2', c2.path), conf(net, {}, { rangeEnd: '10.61.0.20' }));
  t.match(clash.output, { msg: /already has a link/ });
  t.same(reservations(net), ['10.61.0.10']);
  t.same(ipJson<{ ifname: string }[]>(c2, 'link show').map((link) => link.ifname).sort(), ['eth0', 'lo', 'x0'], 'no temporary link left');

  const c3 = makeNetns(t, 'mvc');
  const old = await callPlugin(plugin, attachment('ADD', 'ctr3', c3.path), conf(net, { cniVersion: '0.3.1' }, { rangeEnd: '10.61.0.20' }));
  t.match(old.output, { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.61.0.11/24', interface: 0 }] });
});
