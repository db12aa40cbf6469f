/** `berth network create|ls|inspect|rm`, and a created network used by plugins exec'd as an engine does. */
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestHost, execCommand, type TestNetns } from '../../src/harness/index.js';
import { CniEngine, berthImplementation, linkNames, pings } from '../../src/cni/index.js';

const berthCli = fileURLToPath(new URL('../../../runtime-hooks/bin/berth.js', import.meta.url));

interface Cli { confDir: string; root: string; run(args: string[], where?: TestNetns): Promise<{ code: number; stdout: string; stderr: string }> }

async function cliSandbox(t: { teardown(fn: () => unknown): void }): Promise<Cli> {
  const base = await mkdtemp(join(tmpdir(), 'bt-netcli-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const confDir = join(base, 'net.d');
  const root = join(base, 'root');
  const env = { ...process.env, BERTH_CNI_CONF_DIR: confDir, BERTH_ROOT: root };
  return {
    confDir, root,
    run: async (args, where) => {
      const argv = [process.execPath, berthCli, 'network', ...args];
      return where === undefined ? execCommand(argv, { env }) : where.exec(argv, { env });
    },
  };
}

t.test('create picks free subnets, refuses duplicates and overlaps, and writes the plugin chain', async (t) => {
  const cli = await cliSandbox(t);
  const first = await cli.run(['create', 'alpha']);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /alpha created \(bridge, 10\.89\.0\.0\/24\)/);
  t.match((await cli.run(['create', 'beta'])).stdout, /10\.89\.1\.0\/24/, 'the next free /24');
  const conflist = JSON.parse(await readFile(join(cli.confDir, 'alpha.conflist'), 'utf8')) as { plugins: { type: string }[] };
  t.same(conflist.plugins.map((plugin) => plugin.type), ['berth-bridge', 'berth-portmap', 'berth-firewall']);
  t.match(conflist.plugins[0], { bridge: /^br-[0-9a-f]{12}$/, isGateway: true, ipMasq: true, ipam: { type: 'berth-ipam', ranges: [[{ subnet: '10.89.0.0/24' }]] } });
  const refusals: [string[], RegExp][] = [
    [['create', 'alpha'], /exists/],
    [['create', 'gamma', '--subnet', '10.89.0.128/25'], /overlaps network alpha/],
    [['create', 'delta', '--driver', 'ipvlan'], /unknown driver/],
    [['create', 'bad/name'], /name/],
    [['create', 'vx', '--driver', 'vxlan'], /--opt vni=N/],
    [['create', 'gw', '--subnet', '10.90.0.0/24', '--gateway', '10.91.0.1'], /in none of the subnets/],
    [['create', 'opt', '--opt', 'type=evil'], /Berth sets it/],
  ];
  for (const [args, message] of refusals) {
    const result = await cli.run(args);
    t.equal(result.code, 1, `berth network ${args.join(' ')} fails`);
    t.match(result.stderr, message);
  }
  const dual = await cli.run(['create', 'dual', '--subnet', '10.92.0.0/24', '--subnet', 'fd92::/64', '--opt', 'mtu=1400', '--opt', 'hairpinMode=false', '--output', 'json']);
  t.match(JSON.parse(dual.stdout), { conflist: { plugins: [{ mtu: 1400, hairpinMode: false, ipam: { ranges: [[{ subnet: '10.92.0.0/24' }], [{ subnet: 'fd92::/64' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] } }] } });
  const macvlan = JSON.parse((await cli.run(['create', 'mv', '--driver', 'macvlan', '--subnet', '192.168.50.0/24', '--gateway', '192.168.50.254', '--opt', 'master=eth9', '--output', 'json'])).stdout) as { conflist: unknown };
  t.match(macvlan.conflist, { plugins: [{ type: 'berth-macvlan', master: 'eth9', mode: 'bridge', ipam: { ranges: [[{ subnet: '192.168.50.0/24', gateway: '192.168.50.254' }]] } }] });
  const listed = JSON.parse((await cli.run(['ls', '-o', 'json'])).stdout) as { name: string; driver: string }[];
  t.same(listed.map((item) => `${item.name}:${item.driver}`), ['alpha:bridge', 'beta:bridge', 'dual:bridge', 'mv:macvlan']);
  t.match((await cli.run(['ls'])).stdout, /^NAME\s+DRIVER\s+SUBNETS\s+ATTACHED\s+FILE\nalpha\s+bridge\s+10\.89\.0\.0\/24\s+0/);
});

t.test('a created network works for a container; rm is refused while it is attached, then removes the idle bridge', async (t) => {
  const cli = await cliSandbox(t);
  const host = await TestHost.create(t, 'netcli');
  t.equal((await cli.run(['create', 'web', '--subnet', '10.93.0.0/24'])).code, 0);
  const conflist = JSON.parse(await readFile(join(cli.confDir, 'web.conflist'), 'utf8')) as { plugins: { bridge: string }[] };
  const bridge = conflist.plugins[0]?.bridge ?? '';
  const engine = new CniEngine(berthImplementation, host, { BERTH_ROOT: cli.root });
  const [a, b] = [await host.addNetns('ctr'), await host.addNetns('ctr')];
  const attach = (netns: TestNetns, id: string) => ({ containerId: id, netns: netns.path, ifName: 'eth0' });
  const ra = await engine.add(conflist as never, attach(a, 'web-a'));
  t.match(ra, { ips: [{ address: '10.93.0.2/24', gateway: '10.93.0.1' }] });
  const inspected = JSON.parse((await cli.run(['inspect', 'web'])).stdout) as { attachments: unknown };
  t.same(inspected.attachments, [{ address: '10.93.0.2', containerId: 'web-a', ifName: 'eth0' }]);
  const refused = await cli.run(['rm', 'web'], host);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /1 container\(s\) attached \(web-a\); use --force/);
  await engine.del(conflist as never, attach(a, 'web-a'), ra);
  const removed = await cli.run(['rm', 'web'], host);
  t.equal(removed.code, 0, removed.stderr);
  t.match(removed.stdout, new RegExp(`web removed; bridge ${bridge} removed`));
  t.notOk((await linkNames(host)).includes(bridge), 'the idle bridge is gone from the host netns');
  t.equal((await cli.run(['inspect', 'web'])).code, 1, 'inspect of a removed network fails');

  t.equal((await cli.run(['create', 'web2', '--subnet', '10.94.0.0/24'])).code, 0);
  const conflist2 = JSON.parse(await readFile(join(cli.confDir, 'web2.conflist'), 'utf8')) as { plugins: { bridge: string }[] };
  await engine.add(conflist2 as never, attach(b, 'web2-b'));
  const forced = await cli.run(['rm', '--force', 'web2'], host);
  t.equal(forced.code, 0, forced.stderr);
  t.match(forced.stdout, /1 attachment\(s\) forgotten; bridge \S+ kept: it still has ports/);
});

t.test('vxlan: create writes the overlay range, the static peers and an ipam without ranges; bad peers are refused', async (t) => {
  const cli = await cliSandbox(t);
  const created = await cli.run(['create', 'ovl', '--driver', 'vxlan', '--opt', 'vni=42',
    '--peer', '192.168.50.1=10.244.1.0/24', '--peer', '192.168.50.2=10.244.2.0/24', '--output', 'json']);
  t.equal(created.code, 0, created.stderr);
  const plugin = (JSON.parse(created.stdout) as { conflist: { plugins: Record<string, unknown>[] } }).conflist.plugins[0];
  t.same(plugin, {
    type: 'berth-vxlan', subnet: '10.244.0.0/16', vni: 42, ipam: { type: 'berth-ipam' },
    peers: [{ address: '192.168.50.1', subnet: '10.244.1.0/24' }, { address: '192.168.50.2', subnet: '10.244.2.0/24' }],
  }, 'no ipam.ranges: each host allocates from its own peer subnet');
  t.match((await cli.run(['ls'])).stdout, /ovl\s+vxlan\s+10\.244\.0\.0\/16/, 'ls shows the overlay range');
  t.match((await cli.run(['create', 'b2', '--subnet', '10.244.9.0/24'])).stderr, /overlaps network ovl/, 'the overlay range is taken');
  const refusals: [string[], RegExp][] = [
    [['--peer', '192.168.50.1=10.245.1.0/24'], /not inside the network's 10\.244\.0\.0\/16/],
    [['--peer', '192.168.50.1=10.244.1.0/24', '--peer', '192.168.50.2=10.244.1.128/25'], /overlaps/],
    [['--peer', '192.168.50.1=10.244.1.0/24', '--peer', '192.168.50.1=10.244.2.0/24'], /listed twice/],
    [['--peer', '192.168.50.1'], /expected VTEP_ADDRESS=SUBNET/],
    [['--peer', 'nonsense=10.244.1.0/24'], /not an IP address/],
    [['--gateway', '10.244.0.1'], /not for|each host's gateway/],
    [['--subnet', 'fd00::/48'], /one IPv4 --subnet/],
  ];
  const empty = await cliSandbox(t);
  for (const [extra, message] of refusals) {
    const result = await empty.run(['create', 'bad', '--driver', 'vxlan', '--subnet', '10.244.0.0/16', '--opt', 'vni=7', ...extra]);
    t.equal(result.code, 1, `create --driver vxlan ${extra.join(' ')} fails`);
    t.match(result.stderr, message);
  }
  const onBridge = await cli.run(['create', 'br', '--peer', '192.168.50.1=10.89.0.0/24']);
  t.equal(onBridge.code, 1);
  t.match(onBridge.stderr, /--peer with the bridge driver/);
  t.match((await cli.run(['create', '--help'])).stdout, /--peer <address=subnet>/);
});

t.test('vxlan: a network created by the CLI carries traffic between containers on two hosts through berth-vxlan', async (t) => {
  const cli = await cliSandbox(t);
  const hostA = await TestHost.create(t, 'netvxa');
  const hostB = await TestHost.create(t, 'netvxb');
  await hostA.execChecked(['ip', 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', hostB.name]);
  for (const [host, address] of [[hostA, '10.123.7.1/24'], [hostB, '10.123.7.2/24']] as const) {
    await host.execChecked(['ip', 'addr', 'add', address, 'dev', 'ul0']);
    await host.execChecked(['ip', 'link', 'set', 'ul0', 'up']);
  }
  const created = await cli.run(['create', 'ovl', '--driver', 'vxlan', '--subnet', '10.246.0.0/16', '--opt', 'vni=4243',
    '--peer', '10.123.7.1=10.246.1.0/24', '--peer', '10.123.7.2=10.246.2.0/24']);
  t.equal(created.code, 0, created.stderr);
  const conflist = JSON.parse(await readFile(join(cli.confDir, 'ovl.conflist'), 'utf8')) as Record<string, unknown>;
  const sides = [
    { host: hostA, engine: new CniEngine(berthImplementation, hostA, { BERTH_ROOT: `${cli.root}-a` }), subnet: /^10\.246\.1\.\d+\/24$/ },
    { host: hostB, engine: new CniEngine(berthImplementation, hostB, { BERTH_ROOT: `${cli.root}-b` }), subnet: /^10\.246\.2\.\d+\/24$/ },
  ];
  t.teardown(() => Promise.all([rm(`${cli.root}-a`, { recursive: true, force: true }), rm(`${cli.root}-b`, { recursive: true, force: true })]));
  const attached: { side: (typeof sides)[number]; netns: TestNetns; result: Record<string, unknown>; address: string }[] = [];
  for (const [index, side] of sides.entries()) {
    const netns = await side.host.addNetns('ctr');
    const attachment = { containerId: `ovl-${index}`, netns: netns.path, ifName: 'eth0' };
    const result = await side.engine.add(conflist as never, attachment) as { ips?: { address: string }[] };
    const address = result.ips?.[0]?.address ?? '';
    t.match(address, side.subnet, `host ${index + 1} allocates from its own peer subnet`);
    attached.push({ side, netns, result: result as Record<string, unknown>, address });
  }
  const [first, second] = attached;
  if (first === undefined || second === undefined) throw new Error('two attachments expected');
  t.ok(await pings(first.netns, second.address.split('/')[0] ?? ''), 'the container on host A reaches the one on host B over the overlay');
  for (const [index, item] of attached.entries()) {
    await item.side.engine.del(conflist as never, { containerId: `ovl-${index}`, netns: item.netns.path, ifName: 'eth0' }, item.result as never);
  }
  t.notOk((await linkNames(second.netns)).includes('eth0'), 'DEL removed the container interface');
});
