import t from 'tap';
import { NetnsError } from '@berth/netns-napi';
import { NetlinkError, formatIp, openRtnl, withRtnl } from '../../src/net/index.js';
import { hasLink, ipJson, kernelHasVlanFiltering, noVlanFiltering, testNetns, uniqueIfName } from './helpers.js';

t.test('a link created through a socket opened in a netns lands there, not in the caller netns', async (t) => {
  const ns = testNetns(t, 'land');
  const name = uniqueIfName('br');
  const link = await withRtnl(ns.path, (rtnl) => rtnl.links.createBridge({ name }));
  t.equal(link.name, name);
  t.equal(link.kind, 'bridge');
  t.ok(hasLink(ns, name), 'ip -n NS link shows it');
  t.notOk(hasLink(undefined, name), 'the root netns does not have it');
  const rootNames = ipJson(undefined, 'link', 'show').map((l) => l['ifname']);
  t.notOk(rootNames.includes(name), 'the root link list lacks it');
  t.ok(rootNames.length > 0, 'the root link list was read');
});

t.test('veth: the peer is created directly in another netns under its own name', async (t) => {
  const host = testNetns(t, 'vh');
  const container = testNetns(t, 'vc');
  const hostName = uniqueIfName('vh');
  const rtnl = openRtnl(host.path);
  t.teardown(() => rtnl.close());
  const { link, peer } = await rtnl.links.createVeth({
    name: hostName, mtu: 1400, up: true,
    peer: { name: 'eth0', netnsPath: container.path, mac: '02:00:00:00:00:42', mtu: 1400 },
  });
  t.equal(link.kind, 'veth');
  t.equal(link.mtu, 1400);
  t.ok(link.up, 'host end up');
  t.equal(peer.name, 'eth0');
  t.equal(peer.mac, '02:00:00:00:00:42');
  t.ok(hasLink(host, hostName), 'host end in the host netns');
  t.notOk(hasLink(host, 'eth0'), 'the peer never appears in the host netns');
  const [shown] = ipJson(container, 'link', 'show', 'dev', 'eth0');
  t.equal(shown?.['address'], '02:00:00:00:00:42', 'ip -n container shows the peer with its MAC');
  t.equal(shown?.['mtu'], 1400);
  t.equal(peer.parentIndex, link.index, 'the peer points at the host end');
  t.notOk(hasLink(undefined, hostName), 'nothing in the root netns');
});

t.test('veth without a peer netns: both ends in the socket netns', async (t) => {
  const ns = testNetns(t, 'vv');
  await withRtnl(ns.path, async (rtnl) => {
    const { link, peer } = await rtnl.links.createVeth({ name: 'a0', peer: { name: 'b0' } });
    t.equal(peer.parentIndex, link.index);
    t.equal(link.parentIndex, peer.index);
  });
  t.ok(hasLink(ns, 'a0') && hasLink(ns, 'b0'));
});

t.test('get, find, list, update and remove; errors name the link and the netns', async (t) => {
  const ns = testNetns(t, 'ops');
  const other = testNetns(t, 'mv');
  const rtnl = openRtnl(ns.path);
  t.teardown(() => rtnl.close());
  await rtnl.links.createVeth({ name: 'v0', peer: { name: 'v1' } });

  await t.rejects(rtnl.links.get('nope0'), { name: 'NetlinkError', code: 'ENODEV', message: new RegExp(`nope0 in netns ${ns.path}`) });
  await t.rejects(rtnl.links.get(999_999), { code: 'ENODEV' });
  t.equal(await rtnl.links.find('nope0'), undefined);
  await t.rejects(rtnl.links.setUp('nope0'), { code: 'ENODEV' });
  t.equal(await rtnl.links.remove('nope0'), false, 'removing a missing link is not an error');

  const names = (await rtnl.links.list()).map((l) => l.name).sort();
  t.same(names, ['lo', 'v0', 'v1']);

  await rtnl.links.update('v0', { up: true, mtu: 1300, mac: '02:11:22:33:44:55', promisc: true });
  const v0 = await rtnl.links.get('v0');
  t.ok(v0.up);
  t.equal(v0.mtu, 1300);
  t.equal(v0.mac, '02:11:22:33:44:55');
  t.ok((v0.promiscuity ?? 0) > 0, 'promiscuous');
  const [shown] = ipJson(ns, 'link', 'show', 'dev', 'v0');
  t.ok((shown?.['flags'] as string[]).includes('PROMISC'), 'ip shows PROMISC');
  await rtnl.links.setPromisc('v0', false);
  await rtnl.links.setDown(v0.index);
  t.notOk((await rtnl.links.get(v0.index)).up, 'down by index');
  await rtnl.links.rename('v0', 'renamed0');
  t.equal((await rtnl.links.get(v0.index)).name, 'renamed0');

  await rtnl.links.moveToNetns('v1', other.path, 'eth7');
  t.notOk(hasLink(ns, 'v1'), 'moved away');
  t.ok(hasLink(other, 'eth7'), 'arrived under its new name');

  t.equal(await rtnl.links.remove('renamed0'), true);
  t.notOk(hasLink(ns, 'renamed0'));
});

t.test('input is validated before anything is sent', async (t) => {
  const ns = testNetns(t, 'val');
  await withRtnl(ns.path, async (rtnl) => {
    for (const name of ['', 'x'.repeat(16), 'a/b', 'a b', '..', 'a:b']) {
      await t.rejects(rtnl.links.createBridge({ name }), { code: 'EINVAL' }, JSON.stringify(name));
    }
    await t.rejects(rtnl.links.createBridge({ name: 'br0', mtu: 10 }), { code: 'EINVAL' });
    await t.rejects(rtnl.links.createBridge({ name: 'br0', mac: 'zz:00:00:00:00:00' }), { code: 'INVALID_MAC' });
    await t.rejects(rtnl.links.createVxlan({ name: 'vx0', vni: 1 << 24 }), { code: 'EINVAL' });
    await t.rejects(rtnl.links.createVxlan({ name: 'vx0', vni: 1, local: '10.0.0.300' }), { code: 'EINVAL' });
    await t.rejects(rtnl.links.update('lo', {}), { code: 'EINVAL' });
    t.same((await rtnl.links.list()).map((l) => l.name), ['lo'], 'nothing was created');
  });
});

t.test('bridge options, ensureBridge idempotence and kind clash', async (t) => {
  const ns = testNetns(t, 'br');
  await withRtnl(ns.path, async (rtnl) => {
    const br = await rtnl.links.createBridge({ name: 'br0', mtu: 1450, mac: '02:aa:00:00:00:01' });
    t.equal(br.kind, 'bridge');
    t.not(br.bridge?.vlanFiltering, true);
    t.equal(br.mtu, 1450);
    t.equal(br.mac, '02:aa:00:00:00:01');
    const [shown] = ipJson(ns, 'link', 'show', 'dev', 'br0');
    t.equal(shown?.['address'], '02:aa:00:00:00:01', 'ip shows the MAC');
    await t.rejects(rtnl.links.createBridge({ name: 'br0' }), { code: 'EEXIST' });
    t.equal((await rtnl.links.ensureBridge({ name: 'br0' })).index, br.index, 'ensureBridge returns the existing bridge');
    await rtnl.links.createVeth({ name: 've0', peer: { name: 've1' } });
    await t.rejects(rtnl.links.ensureBridge({ name: 've0' }), { code: 'EEXIST', message: /a veth link has that name/ });
  });
});

const hasVlanFiltering = kernelHasVlanFiltering();

t.test('bridge with vlan_filtering', { skip: hasVlanFiltering ? false : noVlanFiltering }, async (t) => {
  const ns = testNetns(t, 'brv');
  await withRtnl(ns.path, async (rtnl) => {
    const br = await rtnl.links.createBridge({ name: 'br0', vlanFiltering: true, vlanDefaultPvid: 7 });
    t.equal(br.bridge?.vlanFiltering, true);
    t.equal(br.bridge?.vlanDefaultPvid, 7);
    const [shown] = ipJson(ns, 'link', 'show', 'dev', 'br0');
    t.equal((shown?.['linkinfo'] as { info_data: Record<string, unknown> }).info_data['vlan_filtering'], 1);
  });
});

t.test('without kernel VLAN filtering, a bridge asking for it is refused with ENOTSUP', { skip: hasVlanFiltering ? 'this kernel has VLAN filtering' : false }, async (t) => {
  const ns = testNetns(t, 'brv');
  await withRtnl(ns.path, async (rtnl) => {
    await t.rejects(rtnl.links.createBridge({ name: 'br0', vlanFiltering: true }), { code: 'ENOTSUP' }, 'EOPNOTSUPP (Node names errno 95 ENOTSUP)');
  });
});

t.test('macvlan in every mode, and created directly in another netns', async (t) => {
  const host = testNetns(t, 'mh');
  const container = testNetns(t, 'mc');
  await withRtnl(host.path, async (rtnl) => {
    await rtnl.links.createVeth({ name: 'uplink', peer: { name: 'uplink-peer' } });
    for (const mode of ['bridge', 'private', 'vepa', 'source'] as const) {
      const link = await rtnl.links.createMacvlan({ name: `mv-${mode}`, parent: 'uplink', mode });
      t.equal(link.macvlan?.mode, mode, `${mode} read back`);
      const [shown] = ipJson(host, 'link', 'show', 'dev', `mv-${mode}`);
      t.equal((shown?.['linkinfo'] as { info_data: { mode: string } }).info_data.mode, mode, `ip shows mode ${mode}`);
      t.equal(link.parentIndex, (await rtnl.links.get('uplink')).index);
    }
    const moved = await rtnl.links.createMacvlan({ name: 'eth0', parent: 'uplink', mode: 'bridge', netnsPath: container.path });
    t.equal(moved.macvlan?.mode, 'bridge');
    t.ok(hasLink(container, 'eth0'), 'created in the container netns');
    t.notOk(hasLink(host, 'eth0'), 'never in the host netns');
    // passthru takes the whole parent: only one per parent, so use a fresh one.
    await rtnl.links.createVeth({ name: 'uplink2', peer: { name: 'uplink2-peer' } });
    t.equal((await rtnl.links.createMacvlan({ name: 'mv-pt', parent: 'uplink2', mode: 'passthru' })).macvlan?.mode, 'passthru');
  });
});

t.test('vxlan: VNI, local address, port, learning off and underlay read back', async (t) => {
  const ns = testNetns(t, 'vx');
  await withRtnl(ns.path, async (rtnl) => {
    await rtnl.links.createVeth({ name: 'under0', peer: { name: 'under1' } });
    const vx = await rtnl.links.createVxlan({ name: 'vx42', vni: 42, local: '10.99.0.1', underlay: 'under0', mtu: 1450 });
    t.equal(vx.kind, 'vxlan');
    t.equal(vx.vxlan?.vni, 42);
    t.equal(vx.vxlan?.local === undefined ? undefined : formatIp(vx.vxlan.local), '10.99.0.1');
    t.equal(vx.vxlan?.port, 4789);
    t.equal(vx.vxlan?.learning, false);
    t.equal(vx.vxlan?.underlayIndex, (await rtnl.links.get('under0')).index);
    t.equal(vx.mtu, 1450);
    const [shown] = ipJson(ns, 'link', 'show', 'dev', 'vx42');
    const info = (shown?.['linkinfo'] as { info_data: Record<string, unknown> }).info_data;
    t.equal(info['id'], 42);
    t.equal(info['local'], '10.99.0.1');
    t.equal(info['port'], 4789);
    t.equal(info['learning'], false);
    t.equal(info['link'], 'under0');

    t.equal((await rtnl.links.ensureVxlan({ name: 'vx42', vni: 42, local: '10.99.0.1' })).index, vx.index, 'ensure is idempotent');
    await t.rejects(rtnl.links.ensureVxlan({ name: 'vx42', vni: 43 }), { code: 'EEXIST', message: /VNI 42/ });
    const v6 = await rtnl.links.createVxlan({ name: 'vx6', vni: 7, local: 'fd00:99::1', port: 8472, learning: true });
    t.equal(v6.vxlan?.local === undefined ? undefined : formatIp(v6.vxlan.local), 'fd00:99::1');
    t.equal(v6.vxlan?.port, 8472);
    t.equal(v6.vxlan?.learning, true);
  });
});

t.test('opening a socket in a missing netns fails with NetnsError ENOENT', async (t) => {
  t.throws(() => openRtnl('/run/netns/bt-net-does-not-exist'), { name: 'NetnsError', code: 'ENOENT' });
  t.throws(() => openRtnl('/run/netns/bt-net-does-not-exist'), NetnsError);
  const ns = testNetns(t, 'closed');
  const rtnl = openRtnl(ns.path);
  rtnl.close();
  await t.rejects(rtnl.links.list(), NetlinkError, 'a closed handle refuses requests');
});
