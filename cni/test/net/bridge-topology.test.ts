import t from 'tap';
import { formatCidr, formatIp, openRtnl, withRtnl, type Rtnl } from '../../src/net/index.js';
import { bridgeJson, ipJson, kernelHasVlanFiltering, noVlanFiltering, pings, testNetns, type TestNetns } from './helpers.js';

/** host: bridge br0 (10.77.0.1/24, fd00:77::1/64); c1, c2: eth0 on a veth whose host end is a br0 port. */
async function buildTopology(t: { teardown(fn: () => unknown): void }) {
  const host = testNetns(t, 'th');
  const c1 = testNetns(t, 'tc1');
  const c2 = testNetns(t, 'tc2');
  const rtnl = openRtnl(host.path);
  t.teardown(() => rtnl.close());
  await rtnl.links.ensureBridge({ name: 'br0', up: true });
  await rtnl.addresses.add('br0', '10.77.0.1/24');
  await rtnl.addresses.add('br0', 'fd00:77::1/64');
  for (const [index, c] of [c1, c2].entries()) {
    const n = index + 2;
    await rtnl.links.createVeth({ name: `veth${n}`, master: 'br0', up: true, peer: { name: 'eth0', netnsPath: c.path } });
    await withRtnl(c.path, async (inside) => {
      await inside.links.setUp('lo');
      await inside.links.setUp('eth0');
      await inside.addresses.add('eth0', `10.77.0.${n}/24`);
      await inside.addresses.add('eth0', `fd00:77::${n}/64`);
      await inside.routes.add({ gateway: '10.77.0.1' });
      await inside.routes.add({ gateway: 'fd00:77::1', dev: 'eth0' });
    });
  }
  return { host, c1, c2, rtnl };
}

t.test('bridge + enslave + addresses + routes: two namespaces ping each other over the bridge', async (t) => {
  const { host, c1, c2, rtnl } = await buildTopology(t);
  const br = await rtnl.links.get('br0');
  for (const name of ['veth2', 'veth3']) {
    const port = await rtnl.links.get(name);
    t.equal(port.masterIndex, br.index, `${name} is a br0 port`);
    t.equal(port.slaveKind, 'bridge');
    const [shown] = ipJson(host, 'link', 'show', 'dev', name);
    t.equal(shown?.['master'], 'br0', `ip shows ${name} master br0`);
  }
  await withRtnl(c1.path, async (inside) => {
    const addresses = (await inside.addresses.list('eth0')).map((a) => formatCidr(a.cidr));
    t.ok(addresses.includes('10.77.0.2/24') && addresses.includes('fd00:77::2/64'), `addresses read back: ${addresses}`);
    const v6 = (await inside.addresses.list('eth0', 6)).find((a) => formatCidr(a.cidr) === 'fd00:77::2/64');
    t.equal(v6?.tentative, false, 'IPv6 address usable at once (IFA_F_NODAD)');
    const routes = await inside.routes.list({ family: 4 });
    const defaultRoute = routes.find((r) => r.dst.prefixLength === 0);
    t.equal(defaultRoute?.gateway === undefined ? undefined : formatIp(defaultRoute.gateway), '10.77.0.1', 'default route via the bridge');
    t.ok(routes.some((r) => formatCidr(r.dst) === '10.77.0.0/24' && r.scope === 253), 'kernel prefix route, scope link');
    const [shownDefault] = ipJson(c1, 'route', 'show', 'default');
    t.equal(shownDefault?.['gateway'], '10.77.0.1', 'ip shows the default route');
    const v6Default = (await inside.routes.list({ family: 6 })).find((r) => r.dst.prefixLength === 0);
    t.equal(v6Default?.gateway === undefined ? undefined : formatIp(v6Default.gateway), 'fd00:77::1');
  });
  t.ok(pings(c1, '10.77.0.3'), 'c1 → c2 over the bridge (IPv4)');
  t.ok(pings(c2, '10.77.0.2'), 'c2 → c1 (IPv4)');
  t.ok(pings(c1, 'fd00:77::3'), 'c1 → c2 (IPv6)');
  t.ok(pings(c1, '10.77.0.1'), 'c1 → the bridge address');
});

t.test('bridge port flags: hairpin, learning, isolated (isolated ports cannot talk)', async (t) => {
  const { host, c1, rtnl } = await buildTopology(t);
  t.ok(pings(c1, '10.77.0.3'), 'connected before isolation');
  await rtnl.bridge.setPortFlags('veth2', { hairpin: true, learning: false, isolated: true });
  await rtnl.bridge.setPortFlags('veth3', { isolated: true });
  const port = await rtnl.links.get('veth2');
  t.same(
    { hairpin: port.bridgePort?.hairpin, learning: port.bridgePort?.learning, isolated: port.bridgePort?.isolated },
    { hairpin: true, learning: false, isolated: true }, 'flags read back through IFLA_INFO_SLAVE_DATA');
  const [shown] = ipJson(host, 'link', 'show', 'dev', 'veth2');
  const slave = (shown?.['linkinfo'] as { info_slave_data: Record<string, unknown> }).info_slave_data;
  t.same({ hairpin: slave['hairpin'], learning: slave['learning'], isolated: slave['isolated'] },
    { hairpin: true, learning: false, isolated: true }, 'ip -d shows the same flags');
  t.notOk(pings(c1, '10.77.0.3'), 'isolated ports do not forward to each other');
  t.ok(pings(c1, '10.77.0.1'), 'but still reach the bridge itself');
  await rtnl.bridge.setPortFlags('veth2', { isolated: false });
  t.ok(pings(c1, '10.77.0.3'), 'connected again once one side is not isolated');
  await t.rejects(rtnl.bridge.setPortFlags('veth2', {}), { code: 'EINVAL' });
  await t.rejects(rtnl.bridge.setPortFlags('nope0', { hairpin: true }), { code: 'ENODEV' });
});

t.test('bridge VLANs on a port', { skip: kernelHasVlanFiltering() ? false : noVlanFiltering }, async (t) => {
  const ns = testNetns(t, 'vlan');
  await withRtnl(ns.path, async (rtnl) => {
    await rtnl.links.createBridge({ name: 'br0', vlanFiltering: true });
    await rtnl.links.createVeth({ name: 'p0', master: 'br0', peer: { name: 'p1' } });
    await rtnl.bridge.addVlan('p0', { vid: 10, pvid: true, untagged: true });
    await rtnl.bridge.addVlan('p0', { vid: 20 });
    const vlans = await rtnl.bridge.listVlans('p0');
    t.ok(vlans.some((v) => v.vid === 10 && v.pvid && v.untagged), 'vid 10 pvid untagged');
    t.ok(vlans.some((v) => v.vid === 20 && !v.pvid && !v.untagged), 'vid 20 tagged');
    t.ok(JSON.stringify(bridgeJson(ns, 'vlan', 'show', 'dev', 'p0')).includes('"vlan":20'), 'bridge vlan show agrees');
    await rtnl.bridge.removeVlan('p0', { vid: 20 });
    t.notOk((await rtnl.bridge.listVlans('p0')).some((v) => v.vid === 20), 'vid 20 removed');
  });
});

t.test('addresses and routes: ensure/remove are idempotent, tables and metrics', async (t) => {
  const ns: TestNetns = testNetns(t, 'ar');
  const rtnl: Rtnl = openRtnl(ns.path);
  t.teardown(() => rtnl.close());
  await rtnl.links.createVeth({ name: 'a0', peer: { name: 'a1' } });
  await rtnl.links.setUp('a1');
  await rtnl.links.setUp('a0');
  await rtnl.addresses.add('a0', '10.88.0.2/24');
  await t.rejects(rtnl.addresses.add('a0', '10.88.0.2/24'), { code: 'EEXIST' });
  await rtnl.addresses.ensure('a0', '10.88.0.2/24');
  await rtnl.addresses.add('a0', { address: { family: 6, value: 0xfd0088n << 104n | 2n }, prefixLength: 64 }, { noPrefixRoute: true });
  const listed = (await rtnl.addresses.list('a0')).map((a) => formatCidr(a.cidr));
  t.ok(listed.includes('10.88.0.2/24'));
  t.ok(listed.includes('fd00:8800::2/64'), `IpCidr input accepted: ${listed}`);
  const [shown] = ipJson(ns, 'addr', 'show', 'dev', 'a0');
  const infos = (shown?.['addr_info'] as { local: string; broadcast?: string }[]);
  t.equal(infos.find((i) => i.local === '10.88.0.2')?.broadcast, '10.88.0.255', 'IPv4 broadcast computed');
  t.notOk((await rtnl.routes.list({ family: 6 })).some((r) => formatCidr(r.dst) === 'fd00:8800::/64'), 'no prefix route with noPrefixRoute');

  await rtnl.routes.add({ dst: '192.0.2.0/24', gateway: '10.88.0.1', metric: 50 });
  await t.rejects(rtnl.routes.add({ dst: '192.0.2.0/24', gateway: '10.88.0.1', metric: 50 }), { code: 'EEXIST' });
  await rtnl.routes.ensure({ dst: '192.0.2.0/24', gateway: '10.88.0.3', metric: 50 });
  const replaced = (await rtnl.routes.list({ family: 4 })).filter((r) => formatCidr(r.dst) === '192.0.2.0/24');
  t.equal(replaced.length, 1, 'ensure replaced, not duplicated');
  t.equal(replaced[0]?.gateway === undefined ? '' : formatIp(replaced[0].gateway), '10.88.0.3');
  t.equal(replaced[0]?.metric, 50);
  await rtnl.routes.add({ dst: '198.51.100.0/24', dev: 'a0', table: 1000 });
  const inTable = await rtnl.routes.list({ table: 1000 });
  t.equal(inTable.length, 1);
  t.equal(inTable[0]?.scope, 253, 'scope link without a gateway');
  t.equal(ipJson(ns, 'route', 'show', 'table', '1000').length, 1, 'ip sees the route in table 1000');
  t.notOk((await rtnl.routes.list({ family: 4 })).some((r) => formatCidr(r.dst) === '198.51.100.0/24'), 'not in main');
  await rtnl.routes.add({ dst: '203.0.113.7/32', dev: 'a0', scope: 'link', src: '10.88.0.2' });
  const hostRoute = (await rtnl.routes.list({ dev: 'a0' })).find((r) => formatCidr(r.dst) === '203.0.113.7/32');
  t.equal(hostRoute?.prefSrc === undefined ? '' : formatIp(hostRoute.prefSrc), '10.88.0.2');

  t.equal(await rtnl.routes.remove({ dst: '192.0.2.0/24', metric: 50 }), true);
  t.equal(await rtnl.routes.remove({ dst: '192.0.2.0/24', metric: 50 }), false, 'second remove: not found');
  t.equal(await rtnl.routes.remove({ dst: '198.51.100.0/24', table: 1000 }), true);
  t.equal(await rtnl.addresses.remove('a0', '10.88.0.2/24'), true);
  t.equal(await rtnl.addresses.remove('a0', '10.88.0.2/24'), false, 'second remove: not found');
  await t.rejects(rtnl.routes.add({ dst: '10.0.0.0/8', gateway: 'fd00::1' }), { code: 'EINVAL' });
  await t.rejects(rtnl.routes.add({}), { code: 'EINVAL', message: /family is unknown/ });
  await t.rejects(rtnl.addresses.add('a0', '10.0.0.1'), { code: 'EINVAL' });
  await t.rejects(rtnl.addresses.add('nope0', '10.0.0.1/8'), { code: 'ENODEV' });
});
