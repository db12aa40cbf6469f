/** `berth network create|ls|inspect|rm`, and a created network used by plugins exec'd as an engine does. */
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestHost, execCommand, type TestNetns } from '../../src/harness/index.js';
import { CniEngine, berthImplementation, linkNames } from '../../src/cni/index.js';

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
