/**
 * OverlayController on the real kernel: two or three "host" namespaces on a bridged underlay, each with a controller
 * fed by one MemoryPeerSource, as the agent will feed it from the cluster store.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { parseCidr, parseIp } from '../../src/net/ip.js';
import { OverlayController } from '../../src/overlay/controller.js';
import { MemoryPeerSource } from '../../src/overlay/memory-source.js';
import type { OverlayNetwork } from '../../src/overlay/network.js';
import type { OverlayPeer } from '../../src/overlay/peer.js';
import type { ReconcileReport } from '../../src/overlay/reconcile.js';
import { makeNetns, sh, type Ns, type Teardown } from '../plugins/macvlan-helpers.js';

const network: OverlayNetwork = {
  name: 'bt-ctl', vni: 77, port: 4789, cidr: parseCidr('10.250.0.0/16'), device: 'bvx77', bridge: 'bvb77', directRouting: false, mtu: undefined,
};

function hosts(t: Teardown, count: number): { ns: Ns[]; peers: OverlayPeer[] } {
  const ul = makeNetns(t, 'ctu');
  sh(ul, 'ip link add br0 type bridge && ip link set br0 up');
  const ns = Array.from({ length: count }, (_, index) => {
    const host = makeNetns(t, 'cth');
    sh(ul, `ip link add u${index} type veth peer name eth0 netns ${host.path} && ip link set u${index} master br0 up`);
    sh(host, `ip link set eth0 up && ip addr add 10.124.0.${index + 1}/24 dev eth0`);
    return host;
  });
  const peers = ns.map((_, index) => ({ address: parseIp(`10.124.0.${index + 1}`), subnet: parseCidr(`10.250.${index + 1}.0/24`), name: `host${index + 1}` }));
  return { ns, peers };
}

const routesOf = (ns: Ns): string => sh(ns, 'ip route show proto 98').split('\n').map((line) => line.trim()).filter(Boolean).join('; ');
const pingHostGateway = (from: Ns, address: string): boolean =>
  spawnSync('nsenter', [`--net=${from.path}`, 'ping', '-c1', '-W1', '-I', '10.250.1.1', address], { stdio: 'ignore' }).status === 0;

t.test('a controller follows its source: joins add entries, leaves remove them, bursts collapse', async (t) => {
  const { ns, peers } = hosts(t, 3);
  const [h1, h2, h3] = ns as [Ns, Ns, Ns];
  const [p1, p2, p3] = peers as [OverlayPeer, OverlayPeer, OverlayPeer];
  const source = new MemoryPeerSource([p1, p2]);
  const reports: ReconcileReport[] = [];
  const errors: unknown[] = [];
  const controllers = ns.map((host) => new OverlayController({
    network, source, netnsPath: host.path, onSync: (report) => reports.push(report), onError: (error) => errors.push(error),
  }));
  t.teardown(() => Promise.all(controllers.map((controller) => controller.stop())));
  const [c1, c2, c3] = controllers as [OverlayController, OverlayController, OverlayController];
  t.match(await c1.start(), { member: true }, 'host 1 is a member');
  t.match(await c2.start(), { member: true });
  t.match(await c3.start(), { member: false, diff: undefined }, 'host 3 is not (yet): nothing to do');
  t.equal(routesOf(h1), '10.250.2.0/24 via 10.250.2.0 dev bvx77 onlink');
  t.ok(pingHostGateway(h1, '10.250.2.1'), 'host 1 reaches host 2\'s gateway through the overlay');

  source.set([p1, p2, p3]);
  await Promise.all(controllers.map((controller) => controller.idle()));
  t.same(errors, []);
  t.equal(routesOf(h1), '10.250.2.0/24 via 10.250.2.0 dev bvx77 onlink; 10.250.3.0/24 via 10.250.3.0 dev bvx77 onlink');
  t.ok(pingHostGateway(h1, '10.250.3.1'), 'host 3 joined: host 1 reaches it');
  const h1Fdb = sh(h1, 'bridge fdb show dev bvx77');

  source.set([p1, p3]);
  await Promise.all(controllers.map((controller) => controller.idle()));
  t.equal(routesOf(h1), '10.250.3.0/24 via 10.250.3.0 dev bvx77 onlink', 'host 2 left: its route is gone from host 1');
  t.notMatch(sh(h1, 'bridge fdb show dev bvx77'), /10\.124\.0\.2/, 'and its FDB entry');
  t.match(h1Fdb, /10\.124\.0\.3/, 'host 3\'s entry was there before…');
  t.match(sh(h1, 'bridge fdb show dev bvx77'), /10\.124\.0\.3/, '…and is still there');
  t.equal(routesOf(h2), '', 'host 2 itself dropped every peer entry');
  t.equal(sh(h2, 'ip neigh show dev bvx77 nud permanent').trim(), '');

  const before = reports.length;
  for (let round = 0; round < 20; round += 1) source.set(round % 2 === 0 ? [p1, p2, p3] : [p1, p3]);
  source.set([p1, p2, p3]);
  await c1.idle();
  const host1Syncs = reports.slice(before).filter((report) => report.member && report.host.local.peer.name === 'host1').length;
  t.equal(host1Syncs, 2, '21 changes in a burst cost host 1 two syncs: the first, and the newest list');
  await Promise.all(controllers.map((controller) => controller.idle()));
  t.match(routesOf(h1), /10\.250\.2\.0\/24/, 'and it ends at the newest list');
  t.same(errors, []);
});

t.test('a failing sync is reported and the next change retries', async (t) => {
  const { ns, peers } = hosts(t, 2);
  const [h1] = ns as [Ns, Ns];
  const [p1, p2] = peers as [OverlayPeer, OverlayPeer];
  const source = new MemoryPeerSource([p1, p2]);
  const errors: unknown[] = [];
  const controller = new OverlayController({ network, source, netnsPath: h1.path, onError: (error) => errors.push(error) });
  t.teardown(() => controller.stop());
  await controller.start();
  source.set([p1, p2, { address: parseIp('10.124.0.9'), subnet: parseCidr('10.250.1.128/25') }]);
  await controller.idle();
  t.equal(errors.length, 1, 'an overlapping subnet is refused');
  t.match(String(errors[0]), /overlaps/);
  t.equal(routesOf(h1), '10.250.2.0/24 via 10.250.2.0 dev bvx77 onlink', 'and nothing changed');
  source.set([p1]);
  await controller.idle();
  t.equal(routesOf(h1), '', 'the next change applies');
  await t.rejects(controller.start(), /already started/);
});
