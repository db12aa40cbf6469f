import t from 'tap';
import { formatIp, withRtnl } from '../../src/net/index.js';
import { bridgeJson, ipJson, testNetns } from './helpers.js';

t.test('VXLAN FDB entries (AF_BRIDGE, NTF_SELF, NDA_DST): append, set, list, remove', async (t) => {
  const ns = testNetns(t, 'fdb');
  await withRtnl(ns.path, async (rtnl) => {
    const vx = await rtnl.links.createVxlan({ name: 'vx0', vni: 100, local: '10.99.0.1', up: true });
    // Flood to two VTEPs through the all-zero MAC, and one unicast entry.
    await rtnl.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.99.0.2' });
    await rtnl.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.99.0.3' });
    await rtnl.fdb.set({ dev: 'vx0', mac: '02:00:0a:63:00:02', dst: '10.99.0.2' });
    await rtnl.fdb.set({ dev: 'vx0', mac: '02:00:0a:63:00:02', dst: '10.99.0.4' }); // replace: moves the MAC
    const entries = (await rtnl.fdb.list('vx0')).filter((e) => e.dst !== undefined);
    const summary = entries.map((e) => `${e.mac} ${e.dst === undefined ? '' : formatIp(e.dst)}`).sort();
    t.same(summary, ['00:00:00:00:00:00 10.99.0.2', '00:00:00:00:00:00 10.99.0.3', '02:00:0a:63:00:02 10.99.0.4']);
    t.ok(entries.every((e) => e.self && e.index === vx.index), 'self entries on vx0');
    t.ok(entries.every((e) => (e.state & 0x80) !== 0), 'permanent');
    const shown = bridgeJson<{ mac: string; dst?: string }[]>(ns, 'fdb', 'show', 'dev', 'vx0');
    t.ok(shown.some((e) => e.mac === '02:00:0a:63:00:02' && e.dst === '10.99.0.4'), 'bridge fdb show agrees');
    await t.rejects(rtnl.fdb.add({ dev: 'vx0', mac: '02:00:0a:63:00:02', dst: '10.99.0.5' }), { code: 'EEXIST' });

    t.equal(await rtnl.fdb.remove({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.99.0.3' }), true);
    // The kernel acknowledges removing a missing destination of an existing MAC; a missing MAC is "not found".
    await t.resolves(rtnl.fdb.remove({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.99.0.3' }), 'removing it again is fine');
    t.equal(await rtnl.fdb.remove({ dev: 'vx0', mac: '02:00:00:00:99:99', dst: '10.99.0.3' }), false, 'missing MAC: false');
    const left = (await rtnl.fdb.list('vx0')).filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst && formatIp(e.dst));
    t.same(left, ['10.99.0.2'], 'only the named destination was removed');
    await t.rejects(rtnl.fdb.set({ dev: 'vx0', mac: 'not-a-mac' }), { code: 'INVALID_MAC' });
  });
});

t.test('bridge FDB entry on a port (NTF_MASTER, static)', async (t) => {
  const ns = testNetns(t, 'bfdb');
  await withRtnl(ns.path, async (rtnl) => {
    const br = await rtnl.links.createBridge({ name: 'br0', up: true });
    await rtnl.links.createVeth({ name: 'p0', master: 'br0', up: true, peer: { name: 'p1' } });
    await rtnl.fdb.add({ dev: 'p0', mac: '02:00:00:00:be:ef', target: 'master' });
    const entry = (await rtnl.fdb.list('p0')).find((e) => e.mac === '02:00:00:00:be:ef');
    t.ok(entry?.master, 'a master (bridge) entry');
    t.equal(entry?.masterIndex, br.index, 'in br0');
    t.equal((entry?.state ?? 0) & 0x40, 0x40, 'static (NUD_NOARP), not local');
    const shown = bridgeJson<{ mac: string; state?: string; flags?: string[] }[]>(ns, 'fdb', 'show', 'dev', 'p0');
    t.equal(shown.find((e) => e.mac === '02:00:00:00:be:ef')?.state, 'static', 'bridge fdb show: static');
    t.equal(await rtnl.fdb.remove({ dev: 'p0', mac: '02:00:00:00:be:ef', target: 'master' }), true);
    t.notOk((await rtnl.fdb.list('p0')).some((e) => e.mac === '02:00:00:00:be:ef'), 'removed');
  });
});

t.test('permanent neighbour entries: add, replace, list, remove (IPv4 and IPv6)', async (t) => {
  const ns = testNetns(t, 'neigh');
  await withRtnl(ns.path, async (rtnl) => {
    await rtnl.links.createVxlan({ name: 'vx0', vni: 5, up: true });
    await rtnl.neighbours.add({ dev: 'vx0', ip: '10.200.0.5', mac: '02:00:00:00:00:05' });
    await t.rejects(rtnl.neighbours.add({ dev: 'vx0', ip: '10.200.0.5', mac: '02:00:00:00:00:06' }), { code: 'EEXIST' });
    await rtnl.neighbours.set({ dev: 'vx0', ip: '10.200.0.5', mac: '02:00:00:00:00:06' });
    await rtnl.neighbours.set({ dev: 'vx0', ip: 'fd00:200::5', mac: '02:00:00:00:00:07' });
    const entries = await rtnl.neighbours.list('vx0');
    const v4 = entries.find((e) => formatIp(e.ip) === '10.200.0.5');
    t.equal(v4?.mac, '02:00:00:00:00:06', 'replaced');
    t.ok(v4?.permanent);
    t.equal(entries.find((e) => formatIp(e.ip) === 'fd00:200::5')?.mac, '02:00:00:00:00:07');
    // The kernel may add its own IPv6 multicast entries on an up device, so check the filter, not the count.
    const v6Only = await rtnl.neighbours.list('vx0', 6);
    t.ok(v6Only.every((e) => e.ip.family === 6) && v6Only.some((e) => formatIp(e.ip) === 'fd00:200::5'), 'family filter');
    const shown = ipJson<{ dst: string; lladdr: string; state: string[] }[]>(ns, 'neigh', 'show', 'dev', 'vx0');
    t.ok(shown.some((e) => e.dst === '10.200.0.5' && e.lladdr === '02:00:00:00:00:06' && e.state.includes('PERMANENT')), 'ip neigh agrees');
    t.equal(await rtnl.neighbours.remove('vx0', '10.200.0.5'), true);
    t.equal(await rtnl.neighbours.remove('vx0', '10.200.0.5'), false, 'already gone');
    await t.rejects(rtnl.neighbours.set({ dev: 'nope0', ip: '10.0.0.1', mac: '02:00:00:00:00:01' }), { code: 'ENODEV' });
  });
});
