/**
 * The overlay's control plane in a real cluster: berthd hosts (m1 manager, c1 and c2 workers, c3 joining later) in
 * network namespaces on a bridged underlay. A VXLAN network is created once on the manager with no --peer; every
 * host's berthd leases a subnet, writes the conflist and programs its peers; containers are attached by the CNI
 * executable cni/bin/berth-vxlan with a clean environment, as an engine would. Timings are printed, never asserted.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestNetns, execCommand, uniqueName, type TestNetns } from '../../src/harness/index.js';
import type { BerthdHost } from '../../src/cluster/berthd-host.js';
import { repoRoot } from '../../src/cluster/paths.js';
import { TestCluster } from '../../src/cluster/test-cluster.js';
import { openLongConnection } from '../../src/overlay/traffic.js';

const network = 'ovl';
const ttl = ['--lease-ttl', '10'];
const cluster = await TestCluster.start(t, { managers: 1, managerArgs: ttl, clientArgs: ttl, spareHosts: ['c2', 'c3'] });
const [m1] = cluster.managers as [BerthdHost];
const c1 = cluster.client;
const [c2, c3] = cluster.spares as [BerthdHost, BerthdHost];
const { token: workerToken } = await m1.cliJson<{ token: string }>(['cluster', 'join-token', 'worker']);
await c2.join(workerToken, m1.host);

interface Container { readonly host: BerthdHost; readonly netns: TestNetns; readonly address: string }
const containers = new Map<BerthdHost, Container>();
const shim = join(repoRoot(), 'cni', 'bin', 'berth-vxlan');

type Conflist = { cniVersion: string; name: string; plugins: Array<Record<string, unknown>> };

async function conflistOf(host: BerthdHost): Promise<Conflist | undefined> {
  return readFile(join(host.cniConfDir, `${network}.conflist`), 'utf8').then((text) => JSON.parse(text) as Conflist, () => undefined);
}

/** Polls until `predicate` holds (every 20 ms, at most `timeoutMs`); answers how long it took. */
async function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  while (!(await predicate().catch(() => false))) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - started;
}

async function leasedConflist(host: BerthdHost): Promise<Conflist> {
  await waitFor(`${host.host.name} writes ${network}'s conflist with its subnet`, async () => typeof (await conflistOf(host))?.plugins[0]?.['hostSubnet'] === 'string');
  const conflist = await conflistOf(host);
  if (conflist === undefined) throw new Error('conflist vanished');
  return conflist;
}

/**
 * CNI ADD through the executable an engine runs, with a clean environment: the shim forwards to this host's berthd,
 * or (`served: false`, no berthd at the socket) execs the bundled plugin; the leased conflist serves both alike.
 */
async function attach(host: BerthdHost, options: { served: boolean } = { served: true }): Promise<Container> {
  const conflist = await leasedConflist(host);
  const netns = await createTestNetns(uniqueName('bt-ovc', 15));
  t.teardown(() => netns.remove());
  const config = JSON.stringify({ cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0] });
  const id = uniqueName('ctr', 20);
  const result = await host.host.netns.exec(['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'CNI_COMMAND=ADD', `CNI_CONTAINERID=${id}`, `CNI_NETNS=${netns.path}`,
    'CNI_IFNAME=eth0', 'CNI_PATH=/nonexistent', `BERTH_SOCKET=${options.served ? host.socket : join(host.root, 'no-berthd.sock')}`, `BERTH_ROOT=${host.root}`, shim], { input: config });
  if (result.code !== 0) throw new Error(`berth-vxlan ADD on ${host.host.name} failed: ${result.stdout}${result.stderr}`);
  const address = (JSON.parse(result.stdout) as { ips: Array<{ address: string }> }).ips[0]?.address.split('/')[0];
  if (address === undefined) throw new Error(`ADD on ${host.host.name} printed no address`);
  const container = { host, netns, address };
  containers.set(host, container);
  return container;
}

const pings = async (from: Container, to: Container): Promise<boolean> => (await from.netns.exec(['ping', '-c', '1', '-W', '1', to.address])).code === 0;

/** The host's overlay entries as the kernel has them: FDB of the VXLAN device and the overlay routes (proto 98). */
async function entries(host: BerthdHost, device: string): Promise<string> {
  const fdb = await host.host.netns.exec(['bridge', 'fdb', 'show', 'dev', device]);
  const routes = await host.host.netns.exec(['ip', 'route', 'show', 'proto', '98']);
  return `${fdb.stdout.split('\n').filter((line) => line.includes(' dst ')).sort().join('\n')}\n${routes.stdout}`;
}

async function routesTo(host: BerthdHost, subnet: string): Promise<boolean> {
  return (await host.host.netns.exec(['ip', 'route', 'show', subnet, 'proto', '98'])).stdout.includes(subnet.split('/')[0] ?? subnet);
}

let device = '';
const subnets = new Map<BerthdHost, string>();

t.test('a VXLAN network created once on a manager, with no --peer, carries traffic between containers on all three hosts', async (t) => {
  const created = await m1.cliJson<{ vni: number; subnets: string[]; hostPrefixLength: number }>(['network', 'create', network, '--driver', 'vxlan', '--subnet', '10.244.0.0/16']);
  t.equal(created.vni, 4096, 'the cluster chose the VNI');
  t.equal(created.hostPrefixLength, 24, 'each host leases a /24');
  device = `bvx${created.vni}`;
  const worker = await c1.cli(['network', 'create', 'other', '--driver', 'vxlan', '--subnet', '10.245.0.0/16']);
  t.not(worker.code, 0, 'a worker cannot create a cluster network');
  t.match(worker.stderr, /worker; run this on a manager/, worker.stderr.trim());
  for (const host of [m1, c1, c2]) {
    const conflist = await leasedConflist(host);
    subnets.set(host, String(conflist.plugins[0]?.['hostSubnet']));
    t.match(conflist, { berth: { cluster: /./ }, plugins: [{ type: 'berth-vxlan', vni: 4096, subnet: '10.244.0.0/16', localAddress: host.host.address }] }, `${host.host.name}: conflist written by berthd, ${subnets.get(host)}`);
    t.notOk('peers' in (conflist.plugins[0] ?? {}), `${host.host.name}: no static peers`);
  }
  t.equal(new Set(subnets.values()).size, 3, `three distinct subnets: ${[...subnets.values()].join(' ')}`);
  const attached = [await attach(m1), await attach(c1), await attach(c2)];
  for (const container of attached) {
    t.ok(String(container.address).startsWith(String(subnets.get(container.host)).split('.').slice(0, 3).join('.')), `${container.host.host.name}'s container ${container.address} is in its host's subnet`);
  }
  for (const from of attached) {
    for (const to of attached) {
      if (from === to) continue;
      const ms = await waitFor(`${from.host.host.name} → ${to.host.host.name}`, () => pings(from, to), 10_000);
      t.pass(`${from.host.host.name} (${from.address}) reaches ${to.host.host.name} (${to.address}) [${ms} ms]`);
    }
  }
  const inspect = await m1.api('GET', `/v1/networks/${network}`) as { leases: Array<{ subnet: string; vtep: string }> };
  t.same(inspect.leases.map((lease) => lease.subnet).sort(), [...subnets.values()].sort(), 'the store holds exactly these three leases');
  const shown = JSON.parse((await c1.cli(['network', 'inspect', network])).stdout) as { file: string; cluster: { vni: number; leases: unknown[] } };
  t.match(shown, { file: join(c1.cniConfDir, `${network}.conflist`), cluster: { vni: 4096, leases: { length: 3 } } }, 'berth network inspect on a worker shows the conflist and every lease');
  const metrics = await execCommand(['curl', '-sS', '--unix-socket', m1.socket, 'http://berthd/metrics']);
  for (const line of ['berth_networks 1', 'berth_network_conflists 1', `berth_overlay_peers{network="${network}"} 3`]) t.ok(metrics.stdout.includes(line), `m1 /metrics: ${line}`);
});

t.test('a fourth host joins: every other host programs it within about a second, existing connections carry on', async (t) => {
  const long = await openLongConnection(t, containers.get(c1)?.netns as TestNetns, containers.get(m1)?.netns as TestNetns, containers.get(m1)?.address ?? '', 7001);
  t.match(await long.say('before'), /^\d+ before$/);
  await c3.join(workerToken, m1.host);
  const conflist = await leasedConflist(c3);
  const leasedAt = Date.now();
  const subnet = String(conflist.plugins[0]?.['hostSubnet']);
  subnets.set(c3, subnet);
  const programmed = await Promise.all([m1, c1, c2].map(async (host) => {
    await waitFor(`${host.host.name} routes ${subnet}`, () => routesTo(host, subnet), 10_000);
    return `${host.host.name} ${Date.now() - leasedAt} ms`;
  }));
  t.comment(`c3 leased ${subnet}; its route was on every other host after: ${programmed.join(', ')} (from c3's conflist appearing, which follows its lease)`);
  t.pass('every other host has a route to the new host');
  const added = await attach(c3, { served: false });
  for (const other of [m1, c1, c2]) {
    const from = containers.get(other);
    if (from === undefined) throw new Error('no container');
    const ms = await waitFor(`${other.host.name} → c3`, () => pings(from, added), 10_000);
    t.pass(`${other.host.name} reaches c3's container ${added.address}, attached by the exec'd plugin (no berthd at the socket) [${ms} ms after its ADD]`);
  }
  t.match(await long.say('after-join'), /^1 after-join$/, 'the connection opened before the join carries on (same connection id)');
  long.close();
});

t.test('SIGKILL of a berthd keeps its data path in place; on restart it resyncs from the store without flushing', async (t) => {
  const before = await entries(c1, device);
  t.match(before, new RegExp(`via \\S+ dev ${device} onlink`), `c1 has overlay routes:\n${before}`);
  const long = await openLongConnection(t, containers.get(c2)?.netns as TestNetns, containers.get(c1)?.netns as TestNetns, containers.get(c1)?.address ?? '', 7002);
  t.match(await long.say('before-kill'), /^1 before-kill$/);
  c1.kill('SIGKILL');
  await c1.exited();
  t.equal(await entries(c1, device), before, 'with berthd dead, c1\'s FDB entries and routes are exactly as they were');
  t.ok(await pings(containers.get(m1) as Container, containers.get(c1) as Container), 'traffic to c1\'s container still flows');
  t.match(await long.say('while-dead'), /^1 while-dead$/, 'the open connection carries data while berthd is dead');
  const restartedAt = Date.now();
  await c1.start();
  await waitFor('c1\'s berthd follows the networks again', async () => ((await c1.api('GET', '/v1/networks')) as Array<{ host: { ready: boolean } }>)[0]?.host.ready === true, 20_000);
  t.comment(`c1's berthd restarted and resynced in ${Date.now() - restartedAt} ms`);
  t.equal(await entries(c1, device), before, 'after the resync the entries are the same (nothing flushed, nothing added)');
  t.equal(String((await conflistOf(c1))?.plugins[0]?.['hostSubnet']), subnets.get(c1), 'c1 kept its subnet');
  t.match(await long.say('after-restart'), /^1 after-restart$/, 'the connection opened before the kill carries on');
  long.close();
});

t.test('a berthd stopped cleanly (SIGTERM) hands its lease over: the other hosts keep its routes through a restart', async (t) => {
  const subnet = subnets.get(c1) ?? '';
  const before = await entries(c1, device);
  c1.kill('SIGTERM');
  t.same(await c1.exited(), { code: 0, signal: null }, 'berthd exits 0');
  await sleep(1_000);
  for (const host of [m1, c2, c3]) t.ok(await routesTo(host, subnet), `${host.host.name} still routes ${subnet} a second after the stop (its liveness lease is gone, the overlay lease is not)`);
  t.ok(await pings(containers.get(m1) as Container, containers.get(c1) as Container), 'traffic to c1\'s container flows while its berthd is stopped');
  await c1.start();
  await waitFor('c1\'s berthd follows the networks again', async () => ((await c1.api('GET', '/v1/networks')) as Array<{ host: { ready: boolean } }>)[0]?.host.ready === true, 20_000);
  t.equal(await entries(c1, device), before, 'c1\'s entries unchanged across the restart');
  t.equal(String((await conflistOf(c1))?.plugins[0]?.['hostSubnet']), subnet, 'and it kept its subnet');
});

t.test('a host cut off from the store past its lease: the others drop it, it keeps its entries, and after healing it leases its subnet again', async (t) => {
  const subnet = subnets.get(c1) ?? '';
  const before = await entries(c1, device);
  cluster.topology.partition(c1.host, [m1.host]);
  try {
    const dropped = await waitFor(`m1 drops ${subnet} once c1's liveness lease expires`, async () => !(await routesTo(m1, subnet)), 40_000);
    t.pass(`m1 dropped c1's route ${dropped} ms into the partition (liveness TTL 10 s)`);
    t.equal(await entries(c1, device), before, 'c1, cut off, keeps every entry it had');
  } finally {
    cluster.topology.heal(c1.host);
  }
  const back = await waitFor(`m1 routes ${subnet} again`, () => routesTo(m1, subnet), 40_000);
  t.pass(`after healing, c1 leased again and m1 routed it ${back} ms later`);
  t.equal(String((await conflistOf(c1))?.plugins[0]?.['hostSubnet']), subnet, 'c1 got the same subnet back');
  await waitFor('m1 → c1 again', () => pings(containers.get(m1) as Container, containers.get(c1) as Container), 10_000);
  t.pass('traffic flows again');
});

t.test('a host leaves: its subnet is released and every other host drops it; the others carry on', async (t) => {
  const subnet = subnets.get(c2) ?? '';
  const long = await openLongConnection(t, containers.get(m1)?.netns as TestNetns, containers.get(c3)?.netns as TestNetns, containers.get(c3)?.address ?? '', 7003);
  t.match(await long.say('before-leave'), /^1 before-leave$/);
  const leaving = Date.now();
  const left = await c2.cli(['cluster', 'leave']);
  t.equal(left.code, 0, `c2 leaves: ${left.stderr.trim()}`);
  t.comment(`\`berth cluster leave\` on c2 took ${Date.now() - leaving} ms (revocation, then its liveness lease and with it its overlay lease)`);
  const dropped = await Promise.all([m1, c1, c3].map(async (host) => {
    await waitFor(`${host.host.name} drops ${subnet}`, async () => !(await routesTo(host, subnet)), 10_000);
    return `${host.host.name} ${Date.now() - leaving} ms`;
  }));
  t.comment(`c2's route was gone from the others after (from the start of \`cluster leave\`): ${dropped.join(', ')}`);
  const inspect = await m1.api('GET', `/v1/networks/${network}`) as { leases: Array<{ subnet: string }> };
  t.notOk(inspect.leases.some((lease) => lease.subnet === subnet), `${subnet} is released in the store`);
  t.equal(await conflistOf(c2), undefined, 'c2 removed the cluster\'s conflist');
  t.equal((await c2.host.netns.exec(['ip', 'link', 'show', device])).code, 1, 'c2\'s VXLAN device is gone');
  t.match(await long.say('after-leave'), /^1 after-leave$/, 'a connection between the remaining hosts carries on');
  t.ok(await pings(containers.get(c1) as Container, containers.get(c3) as Container), 'c1 still reaches c3');
  long.close();
});

t.test('cluster rm of a host releases its subnet at once: the others drop it', async (t) => {
  const subnet = subnets.get(c3) ?? '';
  const removedAt = Date.now();
  const removed = await m1.cli(['cluster', 'rm', await c3.nodeId()]);
  t.equal(removed.code, 0, `cluster rm c3: ${removed.stderr.trim()}`);
  for (const host of [m1, c1]) {
    await waitFor(`${host.host.name} drops ${subnet}`, async () => !(await routesTo(host, subnet)), 10_000);
    t.pass(`${host.host.name} dropped c3's route [${Date.now() - removedAt} ms from the start of \`cluster rm\`]`);
  }
  const inspect = await m1.api('GET', `/v1/networks/${network}`) as { leases: Array<{ subnet: string }> };
  t.notOk(inspect.leases.some((lease) => lease.subnet === subnet), `${subnet} is released in the store`);
  t.ok(await pings(containers.get(m1) as Container, containers.get(c1) as Container), 'm1 still reaches c1');
});

t.test('network rm on the manager: every remaining host removes the conflist', async (t) => {
  const refused = await m1.cli(['network', 'rm', network]);
  t.not(refused.code, 0, 'refused while a container is attached on the manager');
  t.match(refused.stderr, /attached on this host; use --force/);
  const removed = await m1.cli(['network', 'rm', '--force', network]);
  t.equal(removed.code, 0, removed.stderr);
  for (const host of [m1, c1]) {
    const ms = await waitFor(`${host.host.name} removes the conflist`, async () => (await conflistOf(host)) === undefined, 10_000);
    t.pass(`${host.host.name}: conflist removed [${ms} ms]`);
  }
  const inspect = await m1.api('GET', '/v1/networks');
  t.same(inspect, [], 'no network left in the cluster');
});
