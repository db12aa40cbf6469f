import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAILPOINTS } from '../../src/ipam/failpoints.js';
import { conf, tempDataDir } from './helpers.js';
import { execPlugin, type PluginExit } from '../plugins/exec-plugin.js';

const bin = fileURLToPath(new URL('../../bin/berth-ipam', import.meta.url));
const bundle = fileURLToPath(new URL('../../dist/bundle/berth-ipam.cjs', import.meta.url));
const hostLocal = '/usr/lib/cni/host-local';

type Exit = PluginExit;

/** Runs a plugin as an engine does: CNI_* env, config on stdin, one process per call. */
function exec(file: string, env: Record<string, string>, config: object): Promise<Exit> {
  return execPlugin(file, { env, config });
}

const attachment = (command: string, containerId: string, extra: Record<string, string> = {}) => ({
  CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/none', CNI_PATH: '/usr/lib/cni', ...extra,
});

/** Files of a network's directory other than the lock and the round-robin cursors. */
const leftovers = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((name) => name !== 'lock' && !name.startsWith('last_reserved_ip.')).sort() : [];

t.before(() => {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build (scripts/bundle.mjs) first`);
});

t.test('16 concurrent ADD processes on one dataDir get 16 distinct addresses; 16 DELs leave nothing', async (t) => {
  const dataDir = tempDataDir(t);
  const config = conf(dataDir, { subnet: '10.88.0.0/24' });
  const ids = Array.from({ length: 16 }, (_, index) => `par${index}`);
  const adds = await Promise.all(ids.map((id) => exec(bin, attachment('ADD', id), config)));
  for (const [index, result] of adds.entries()) t.equal(result.code, 0, `ADD ${index} succeeded ${result.stdout}`);
  const addresses = adds.map((result) => (JSON.parse(result.stdout) as { ips: { address: string }[] }).ips[0]?.address);
  t.equal(new Set(addresses).size, 16, `distinct: ${addresses.join(' ')}`);
  t.equal(leftovers(join(dataDir, 'bt-net')).length, 16);
  const dels = await Promise.all(ids.map((id) => exec(bin, attachment('DEL', id), config)));
  t.ok(dels.every((result) => result.code === 0 && result.stdout === ''), 'every DEL succeeded silently');
  t.same(leftovers(join(dataDir, 'bt-net')), []);
});

t.test('drop-in for host-local: each releases the other\'s reservations and round-robin continues across them', { skip: !existsSync(hostLocal) && 'no reference host-local' }, async (t) => {
  const dataDir = tempDataDir(t);
  const berth = conf(dataDir, { subnet: '10.89.0.0/24' }, { cniVersion: '1.0.0' });
  const reference = { ...berth, ipam: { ...(berth as { ipam: object }).ipam, type: 'host-local' } };
  const dir = join(dataDir, 'bt-net');
  const a = await exec(bin, attachment('ADD', 'a'), berth);
  const b = await exec(hostLocal, attachment('ADD', 'b'), reference);
  const c = await exec(bin, attachment('ADD', 'c'), berth);
  t.same([a, b, c].map((result) => (JSON.parse(result.stdout) as { ips: { address: string }[] }).ips[0]?.address),
    ['10.89.0.2/24', '10.89.0.3/24', '10.89.0.4/24'], 'one sequence across both implementations');
  t.equal((await exec(hostLocal, attachment('DEL', 'a'), reference)).code, 0);
  t.equal((await exec(bin, attachment('DEL', 'b'), berth)).code, 0);
  t.same(leftovers(dir), ['10.89.0.4'], 'host-local released berth-ipam\'s a, berth-ipam released host-local\'s b');
});

t.test('SIGKILL at each failpoint of ADD, then DEL, leaves no reservation and no temp file', async (t) => {
  // What the crash leaves before DEL cleans up: proof that each failpoint fires where it says.
  const leftBefore: Record<string, (names: string[]) => boolean> = {
    'ipam-after-lock': (names) => names.length === 0,
    'ipam-after-temp-write': (names) => names.length === 1 && names[0]?.startsWith('.tmp-10.90.0.2-') === true,
    'ipam-after-reserve': (names) => names.join() === '10.90.0.2',
    'ipam-after-last-reserved': (names) => names.join() === '10.90.0.2',
    'ipam-before-unlock': (names) => names.join() === '10.90.0.2,fd90::2',
  };
  const addPoints = FAILPOINTS.filter((name) => !name.startsWith('ipam-del'));
  t.same(addPoints.sort(), Object.keys(leftBefore).sort(), 'every ADD failpoint is exercised');
  for (const failpoint of addPoints) {
    const dataDir = tempDataDir(t);
    const config = conf(dataDir, { ranges: [[{ subnet: '10.90.0.0/24' }], [{ subnet: 'fd90::/64' }]] });
    const dir = join(dataDir, 'bt-net');
    const crashed = await exec(bin, attachment('ADD', 'victim', { BERTH_FAILPOINTS: failpoint }), config);
    t.equal(crashed.signal, 'SIGKILL', `${failpoint}: the plugin died by SIGKILL`);
    t.equal(crashed.stdout, '', `${failpoint}: no result was printed`);
    const names = leftovers(dir);
    t.ok(leftBefore[failpoint]?.(names), `${failpoint}: the crash left [${names.join(', ')}]`);
    const del = await exec(bin, attachment('DEL', 'victim'), config);
    t.equal(del.code, 0, `${failpoint}: DEL succeeds ${del.stdout}`);
    t.same(leftovers(dir), [], `${failpoint}: nothing left behind`);
    const next = await exec(bin, attachment('ADD', 'next'), config);
    t.equal(next.code, 0, `${failpoint}: the lock died with the process; the next ADD works`);
  }
});

t.test('SIGKILL half-way through DEL, then DEL again, leaves nothing', async (t) => {
  const dataDir = tempDataDir(t);
  const config = conf(dataDir, { ranges: [[{ subnet: '10.91.0.0/24' }], [{ subnet: 'fd91::/64' }]] });
  t.equal((await exec(bin, attachment('ADD', 'victim'), config)).code, 0);
  const crashed = await exec(bin, attachment('DEL', 'victim', { BERTH_FAILPOINTS: 'ipam-del-after-first-release' }), config);
  t.equal(crashed.signal, 'SIGKILL');
  t.equal(leftovers(join(dataDir, 'bt-net')).length, 1, 'one of the two reservations survived the crash');
  t.equal((await exec(bin, attachment('DEL', 'victim'), config)).code, 0);
  t.same(leftovers(join(dataDir, 'bt-net')), []);
});

t.test('the executable answers errors as the spec says', async (t) => {
  const dataDir = tempDataDir(t);
  const bad = await exec(bin, attachment('ADD', 'x'), { cniVersion: '1.1.0', name: 'bt-net', type: 'b', ipam: { type: 'berth-ipam', dataDir, subnet: '10.0.0.0/31' } });
  t.equal(bad.code, 1);
  t.match(JSON.parse(bad.stdout), { cniVersion: '1.1.0', code: 7, msg: /too small/ });
  const version = await exec(bin, { CNI_COMMAND: 'VERSION' }, { cniVersion: '0.3.1' });
  t.same(JSON.parse(version.stdout), { cniVersion: '0.3.1', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  const old = await exec(bin, attachment('ADD', 'y'), conf(dataDir, { subnet: '10.92.0.0/24' }, { cniVersion: '0.3.1' }));
  t.same(JSON.parse(old.stdout).ips, [{ version: '4', address: '10.92.0.2/24', gateway: '10.92.0.1' }], 'a 0.3.1 config gets a 0.3.1 result');
});
