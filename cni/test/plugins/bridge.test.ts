import t from 'tap';
import { readFileSync } from 'node:fs';
import { makeNetns, nftTableJson, sh, shStatus } from '../nat/topology.js';
import { kernelHasVlanFiltering, noVlanFiltering } from '../net/helpers.js';
import {
  addressesOf, bridgeConfig, callChecked, callPlugin, ipamDir, linkNames, pingFrom, reservations,
} from './helpers.js';

t.test('two containers on one bridge: addresses, default route, they ping each other and the gateway', async (t) => {
  const host = makeNetns(t, 'bh');
  const [c1, c2] = [makeNetns(t, 'bc'), makeNetns(t, 'bc')];
  const config = bridgeConfig('bt-two', ipamDir(t));
  const r1 = await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config });
  const r2 = await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c2', netns: c2.path, ifName: 'eth0', config });
  t.match(r1, {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'btbr0' }, { name: /^veth[0-9a-f]{11}$/ }, { name: 'eth0', sandbox: c1.path }],
    ips: [{ address: '10.66.0.2/24', gateway: '10.66.0.1', interface: 2 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.66.0.1' }],
  });
  t.same(addressesOf(c1, 'eth0'), ['10.66.0.2/24']);
  t.same(addressesOf(c2, 'eth0'), ['10.66.0.3/24']);
  t.same(addressesOf(host, 'btbr0'), ['10.66.0.1/24'], 'the bridge carries the gateway');
  t.match(sh(c1, 'ip route show default'), /default via 10\.66\.0\.1 dev eth0/);
  t.ok(pingFrom(c1, '10.66.0.3'), 'c1 -> c2');
  t.ok(pingFrom(c2, '10.66.0.2'), 'c2 -> c1');
  t.ok(pingFrom(c1, '10.66.0.1'), 'c1 -> gateway');
  t.equal(sh(host, 'sysctl -n net.ipv4.ip_forward').trim(), '1', 'forwarding on in the host netns');
  t.match(sh(host, 'nft list table inet berth-nat'), /10\.66\.0\.2 comment "bt-two\/c1\/eth0"/, 'masquerade element tagged');
  const interfaces = r2?.['interfaces'] as { name: string; mac?: string }[];
  t.match(sh(c2, 'ip link show eth0'), new RegExp(interfaces[2]?.mac ?? 'missing'), 'the result names the container MAC');
  for (const [id, ns] of [['c1', c1], ['c2', c2]] as const) {
    await callChecked({ plugin: 'berth-bridge', command: 'DEL', host, containerId: id, netns: ns.path, ifName: 'eth0', config });
  }
  t.same(linkNames(host).sort(), ['btbr0', 'lo'], 'only the shared bridge is left');
  t.equal(nftTableJson(host, 'inet', 'berth-nat'), undefined, 'the NAT table went with its last element');
});

t.test('dual-stack: IPv6 usable at once (DAD off), default routes for both families', async (t) => {
  const host = makeNetns(t, 'bh');
  const [c1, c2] = [makeNetns(t, 'bc'), makeNetns(t, 'bc')];
  const config = bridgeConfig('bt-dual', ipamDir(t), {}, [[{ subnet: '10.67.0.0/24' }], [{ subnet: 'fd67::/64' }]]);
  const r1 = await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config });
  await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c2', netns: c2.path, ifName: 'eth0', config });
  t.match(r1, { ips: [{ address: '10.67.0.2/24' }, { address: 'fd67::2/64', gateway: 'fd67::1' }], routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd67::1' }] });
  t.notMatch(sh(c1, 'ip -6 addr show dev eth0'), /tentative/, 'no address is tentative right after ADD');
  t.equal(sh(c1, 'sysctl -n net.ipv6.conf.eth0.accept_dad').trim(), '0');
  t.match(sh(c1, 'ip -6 route show default'), /default via fd67::1 dev eth0/);
  t.ok(pingFrom(c1, 'fd67::3'), 'IPv6 between containers');
  t.ok(pingFrom(c2, 'fd67::1'), 'IPv6 to the gateway');
  t.match(sh(host, 'nft list set inet berth-nat masq-v6'), /fd67::2 comment/);
});

t.test('CHECK passes on a good attachment and names what is missing after tampering', async (t) => {
  const host = makeNetns(t, 'bh');
  const c1 = makeNetns(t, 'bc');
  const config = bridgeConfig('bt-check', ipamDir(t));
  const call = { plugin: 'berth-bridge', host, containerId: 'c1', netns: c1.path, ifName: 'eth0' } as const;
  const result = await callChecked({ ...call, command: 'ADD', config });
  const withPrev = { ...config, prevResult: result };
  t.equal((await callPlugin({ ...call, command: 'CHECK', config: withPrev })).code, 0, 'CHECK of a fresh attachment');
  sh(host, 'nft delete element inet berth-nat masq-v4 { 10.66.0.2 }');
  const noNat = await callPlugin({ ...call, command: 'CHECK', config: withPrev });
  t.equal(noNat.code, 1);
  t.match(noNat.json, { code: 999, msg: /masq-v4/ }, 'a missing masquerade element is reported');
  sh(c1, 'ip addr del 10.66.0.2/24 dev eth0');
  const noAddress = await callPlugin({ ...call, command: 'CHECK', config: withPrev });
  t.match(noAddress.json, { msg: /lacks address 10\.66\.0\.2\/24/ });
  const noPrev = await callPlugin({ ...call, command: 'CHECK', config });
  t.match(noPrev.json, { code: 7, msg: /prevResult/ });
});

/** The host's veths, once the kernel has torn down those of netns that are gone (it does so asynchronously). */
async function settledVeths(host: Parameters<typeof linkNames>[0]): Promise<string[]> {
  const veths = (): string[] => linkNames(host).filter((name) => name.startsWith('veth'));
  for (let waited = 0; veths().length > 0 && waited < 5_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  return veths();
}

t.test('DEL is idempotent and succeeds with the link gone, the netns gone, or no netns at all', async (t) => {
  const host = makeNetns(t, 'bh');
  const dataDir = ipamDir(t);
  const config = bridgeConfig('bt-del', dataDir);
  for (const [index, how] of ['repeat', 'link', 'netns', 'empty'].entries()) {
    const ns = makeNetns(t, 'bc');
    const call = { plugin: 'berth-bridge', host, containerId: `c-${how}`, netns: ns.path, ifName: 'eth0', config } as const;
    await callChecked({ ...call, command: 'ADD' });
    if (how === 'link') sh(ns, 'ip link del eth0');
    if (how === 'netns') sh(host, `ip netns del ${ns.name}`);
    const netns = how === 'empty' ? '' : ns.path;
    t.equal((await callPlugin({ ...call, netns, command: 'DEL' })).code, 0, `DEL with ${how}`);
    t.equal((await callPlugin({ ...call, netns, command: 'DEL' })).code, 0, `second DEL with ${how}`);
    t.same(reservations(dataDir, 'bt-del'), [], `no reservation left (${how})`);
    if (how === 'empty') {
      // No netns given: the pair is left to the netns it lives in (as the reference bridge leaves it), and goes with it.
      t.equal(linkNames(host).filter((name) => name.startsWith('veth')).length, 1, 'the pair stays while its netns lives');
      sh(host, `ip netns del ${ns.name}`);
    }
    t.same(await settledVeths(host), [], `no host veth left (${how}, round ${index})`);
  }
  t.equal(nftTableJson(host, 'inet', 'berth-nat'), undefined, 'no NAT element left');
});

t.test('16 concurrent ADDs on a bridge that does not exist yet: all succeed with unique addresses', async (t) => {
  const host = makeNetns(t, 'bh');
  const config = bridgeConfig('bt-par', ipamDir(t), {}, [[{ subnet: '10.68.0.0/24' }], [{ subnet: 'fd68::/64' }]]);
  const containers = Array.from({ length: 16 }, () => makeNetns(t, 'bc'));
  const outcomes = await Promise.all(containers.map((ns, index) => callPlugin({
    plugin: 'berth-bridge', command: 'ADD', host, containerId: `c${index}`, netns: ns.path, ifName: 'eth0', config,
  })));
  t.same(outcomes.map((outcome) => outcome.code), Array(16).fill(0), outcomes.filter((o) => o.code !== 0).map((o) => o.stdout).join('\n') || 'all ADDs exit 0');
  const addresses = outcomes.map((outcome) => (outcome.json?.['ips'] as { address: string }[] | undefined)?.map((ip) => ip.address).join(',') ?? '');
  t.equal(new Set(addresses).size, 16, 'sixteen distinct address pairs');
  t.ok(pingFrom(containers[0]!, ((outcomes[15]?.json?.['ips'] as { address: string }[])[0]?.address ?? '').split('/')[0] ?? ''), 'first reaches last');
  await Promise.all(containers.map((ns, index) => callChecked({
    plugin: 'berth-bridge', command: 'DEL', host, containerId: `c${index}`, netns: ns.path, ifName: 'eth0', config,
  })));
  t.same(linkNames(host).sort(), ['btbr0', 'lo']);
});

t.test('a failed ADD undoes its own work: no veth, no reservation, no NAT element', async (t) => {
  const host = makeNetns(t, 'bh');
  const dataDir = ipamDir(t);
  // The bridge already has another address in the subnet: the gateway step fails after veth and IPAM succeeded.
  sh(host, 'ip link add btbr0 type bridge && ip addr add 10.66.0.200/24 dev btbr0');
  const c1 = makeNetns(t, 'bc');
  const config = bridgeConfig('bt-undo', dataDir);
  const outcome = await callPlugin({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config });
  t.equal(outcome.code, 1);
  t.match(outcome.json, { code: 7, msg: /already has 10\.66\.0\.200\/24.*forceAddress/ });
  t.same(linkNames(c1), ['lo'], 'no interface in the container');
  t.same(linkNames(host).sort(), ['btbr0', 'lo'], 'no veth on the host');
  t.same(reservations(dataDir, 'bt-undo'), [], 'the address was released');
  t.equal(nftTableJson(host, 'inet', 'berth-nat'), undefined);
  const forced = await callPlugin({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config: { ...config, forceAddress: true } });
  t.equal(forced.code, 0, 'forceAddress replaces the old address');
  t.same(addressesOf(host, 'btbr0'), ['10.66.0.1/24']);
  const exhausted = bridgeConfig('bt-full', dataDir, {}, [[{ subnet: '10.69.0.0/30' }]]);
  const outcomes = [];
  for (const index of [1, 2]) {
    const ns = makeNetns(t, 'bc');
    outcomes.push(await callPlugin({ plugin: 'berth-bridge', command: 'ADD', host, containerId: `x${index}`, netns: ns.path, ifName: 'eth0', config: { ...exhausted, bridge: 'btbr1' } }));
  }
  t.same(outcomes.map((o) => o.code), [0, 1], 'a /30 has one address for containers');
  t.match(outcomes[1]?.json, { code: 50, msg: /exhausted/ });
  t.equal(linkNames(host).filter((name) => name.startsWith('veth')).length, 2, 'c1 and x1 keep their veths; x2 left none');
});

t.test('options: mtu, hairpin, promisc, port isolation, MAC from runtimeConfig, disableContainerInterface', async (t) => {
  const host = makeNetns(t, 'bh');
  const c1 = makeNetns(t, 'bc');
  const config = bridgeConfig('bt-opts', ipamDir(t), {
    mtu: 1400, hairpinMode: true, portIsolation: true, runtimeConfig: { mac: '02:42:ac:11:00:99' },
  });
  const result = await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config });
  const hostVeth = (result?.['interfaces'] as { name: string }[])[1]?.name ?? '';
  t.match(sh(c1, 'ip link show eth0'), /mtu 1400 .*\n.*02:42:ac:11:00:99/);
  t.match(sh(host, `ip link show ${hostVeth}`), /mtu 1400/);
  const port = JSON.parse(sh(host, `bridge -j -d link show dev ${hostVeth}`)) as { hairpin?: boolean; isolated?: boolean }[];
  t.match(port[0], { hairpin: true, isolated: true });
  const promisc = makeNetns(t, 'bh');
  await callChecked({ plugin: 'berth-bridge', command: 'ADD', host: promisc, containerId: 'c2', netns: makeNetns(t, 'bc').path, ifName: 'eth0',
    config: bridgeConfig('bt-promisc', ipamDir(t), { promiscMode: true }) });
  t.match(sh(promisc, 'ip -d link show btbr0'), /promiscuity 1/);
  const bad = await callPlugin({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c3', netns: makeNetns(t, 'bc').path, ifName: 'eth0',
    config: bridgeConfig('bt-bad', ipamDir(t), { hairpinMode: true, promiscMode: true }) });
  t.match(bad.json, { code: 7, msg: /hairpinMode.*promiscMode/ });
  const l2 = makeNetns(t, 'bc');
  const { ipam: _ipam, ...noIpam } = bridgeConfig('bt-l2', ipamDir(t), { disableContainerInterface: true, isGateway: false, isDefaultGateway: false, ipMasq: false });
  const l2Result = await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c4', netns: l2.path, ifName: 'eth0', config: noIpam });
  t.notOk(l2Result?.['ips'], 'L2 only: no addresses');
  t.match(sh(l2, 'ip link show eth0'), /state DOWN/, 'the container interface stays down');
});

const hasVlanFiltering = kernelHasVlanFiltering();

t.test('VLANs without kernel support: ADD says so and leaves nothing behind', { skip: hasVlanFiltering ? 'this kernel has VLAN filtering' : false }, async (t) => {
  const host = makeNetns(t, 'bh');
  const c1 = makeNetns(t, 'bc');
  const accessConfig = bridgeConfig('bt-vlan', ipamDir(t), { vlan: 100, preserveDefaultVlan: false });
  const refused = await callPlugin({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config: accessConfig });
  t.match(refused.json, { code: 999, msg: /no bridge VLAN filtering \(CONFIG_BRIDGE_VLAN_FILTERING\)/ }, 'this kernel lacks VLAN filtering: ADD says so');
  t.same(linkNames(host), ['lo'], 'and leaves nothing behind');
});

t.test('VLANs: access port with PVID, trunk port with tagged VLANs', { skip: hasVlanFiltering ? false : noVlanFiltering }, async (t) => {
  const host = makeNetns(t, 'bh');
  const c1 = makeNetns(t, 'bc');
  const c2 = makeNetns(t, 'bc');
  const accessConfig = bridgeConfig('bt-vlan', ipamDir(t), { vlan: 100, preserveDefaultVlan: false });
  const access = await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config: accessConfig });
  const trunk = await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c2', netns: c2.path, ifName: 'eth0',
    config: { ...bridgeConfig('bt-trunk', ipamDir(t), { vlanTrunk: [{ id: 101 }, { minID: 200, maxID: 202 }], isGateway: false, isDefaultGateway: false, ipMasq: false }), ipam: undefined } });
  const vlansOf = (name: string): string => sh(host, `bridge vlan show dev ${name}`);
  const accessPort = (access?.['interfaces'] as { name: string }[])[1]?.name ?? '';
  const trunkPort = (trunk?.['interfaces'] as { name: string }[])[1]?.name ?? '';
  t.match(vlansOf(accessPort), /100 PVID Egress Untagged/);
  t.notMatch(vlansOf(accessPort), /\b1 PVID/, 'default VLAN 1 removed');
  for (const vid of ['101', '200', '201', '202']) t.match(vlansOf(trunkPort), new RegExp(`\\b${vid}\\b`));
  t.match(sh(host, 'ip -d link show btbr0'), /vlan_filtering 1/);
  t.ok(pingFrom(c1, '10.66.0.1'), 'the gateway is in the access VLAN');
});

t.test('macspoofchk: frames with another source MAC are dropped', async (t) => {
  const host = makeNetns(t, 'bh');
  const [c1, c2] = [makeNetns(t, 'bc'), makeNetns(t, 'bc')];
  const config = bridgeConfig('bt-spoof', ipamDir(t), { macspoofchk: true });
  for (const [id, ns] of [['c1', c1], ['c2', c2]] as const) {
    await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: id, netns: ns.path, ifName: 'eth0', config });
  }
  t.ok(pingFrom(c1, '10.66.0.3'), 'the real MAC passes');
  sh(c1, 'ip link set eth0 address 02:00:00:00:66:66 && ip neigh flush all');
  sh(c2, 'ip neigh flush all');
  t.notOk(pingFrom(c1, '10.66.0.3'), 'a spoofed MAC does not');
  await callChecked({ plugin: 'berth-bridge', command: 'DEL', host, containerId: 'c1', netns: c1.path, ifName: 'eth0', config });
  t.notMatch(shStatus(host, 'nft list table bridge berth-macspoof').stdout, /bt-spoof\/c1\//, 'DEL removed c1\'s check only');
  t.match(sh(host, 'nft list table bridge berth-macspoof'), /bt-spoof\/c2\/eth0/);
});

t.test('enabledad waits for duplicate address detection instead of skipping it', async (t) => {
  const host = makeNetns(t, 'bh');
  const c1 = makeNetns(t, 'bc');
  await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: c1.path, ifName: 'eth0',
    config: bridgeConfig('bt-dad', ipamDir(t), { enabledad: true }, [[{ subnet: 'fd70::/64' }]]) });
  const shown = sh(c1, 'ip -6 addr show dev eth0 scope global');
  t.match(shown, /fd70::2\/64/);
  t.notMatch(shown, /nodad|tentative/, 'DAD ran and finished before ADD returned');
});

t.test('GC releases reservations and NAT elements of attachments not listed as valid', async (t) => {
  const host = makeNetns(t, 'bh');
  const dataDir = ipamDir(t);
  const config = bridgeConfig('bt-gc', dataDir);
  for (const id of ['keep', 'lost']) {
    await callChecked({ plugin: 'berth-bridge', command: 'ADD', host, containerId: id, netns: makeNetns(t, 'bc').path, ifName: 'eth0', config });
  }
  await callChecked({ plugin: 'berth-bridge', command: 'GC', host, config: { ...config, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] } });
  t.same(reservations(dataDir, 'bt-gc'), ['10.66.0.2']);
  const nat = sh(host, 'nft list table inet berth-nat');
  t.match(nat, /bt-gc\/keep\/eth0/);
  t.notMatch(nat, /bt-gc\/lost\/eth0/);
  t.equal((await callPlugin({ plugin: 'berth-bridge', command: 'STATUS', host, config })).code, 0, 'STATUS with free addresses');
});

t.test('bad input leaves nothing behind: a netns that does not exist, a malformed config', async (t) => {
  const host = makeNetns(t, 'bh');
  const dataDir = ipamDir(t);
  const missing = await callPlugin({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: '/run/netns/bt-does-not-exist', ifName: 'eth0', config: bridgeConfig('bt-bad', dataDir) });
  t.match(missing.json, { code: 4, msg: /CNI_NETNS/ });
  const malformed = await callPlugin({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: makeNetns(t, 'bc').path, ifName: 'eth0', config: '{"cniVersion":' });
  t.match(malformed.json, { code: 6 });
  const wrongType = await callPlugin({ plugin: 'berth-bridge', command: 'ADD', host, containerId: 'c1', netns: makeNetns(t, 'bc').path, ifName: 'eth0', config: bridgeConfig('bt-bad', dataDir, { mtu: 'big' }) });
  t.match(wrongType.json, { code: 7, msg: /mtu/ });
  t.same(linkNames(host), ['lo'], 'no bridge, no veth');
  t.same(reservations(dataDir, 'bt-bad'), []);
  t.equal(readFileSync('/proc/self/status', 'utf8').length > 0, true);
});
