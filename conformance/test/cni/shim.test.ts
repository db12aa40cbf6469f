/**
 * The CNI shim and berthd's CNI service at their trust and namespace boundaries: the host side of a served call is
 * made in the caller's netns and never in berthd's; a hung berthd, a caller in another mount namespace, another uid
 * and a hostile client are each answered without running anything twice or anywhere wrong; the exec fallback never
 * sees the engine's NODE_* variables.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCall } from '@berth/cni';
import { execCommand, TestHost, type TestNetns } from '../../src/harness/index.js';
import { berthImplementation, CniBerthd, CniEngine, execModeEnv, linkNames, totalCalls } from '../../src/cni/index.js';

const berthd = await CniBerthd.start(t);
const served = { ...berthImplementation, env: berthd.callerEnv };
const shim = (name: string): string => join(berthImplementation.pluginDir, name);

async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function bridgeConfig(dataDir: string, name = 'bt-shim'): string {
  return JSON.stringify({
    cniVersion: '1.1.0', name, type: 'berth-bridge', bridge: 'btshim0', isGateway: true, ipMasq: true,
    ipam: { type: 'berth-ipam', dataDir, ranges: [[{ subnet: '10.73.0.0/24' }]] },
  });
}

async function nftTables(netns: TestNetns): Promise<string> {
  return (await netns.execChecked(['nft', 'list', 'tables'])).trim();
}

async function reservations(dataDir: string, network: string): Promise<string[]> {
  return (await readdir(join(dataDir, network)).catch(() => [] as string[])).filter((name) => /^\d+\.\d+\.\d+\.\d+$/.test(name));
}

/** Polls berthd's stats until `ready` holds (berthd handles a connection asynchronously), at most 5 s. */
async function statsWhen(ready: (stats: Awaited<ReturnType<CniBerthd['stats']>>) => boolean) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const stats = await berthd.stats();
    if (ready(stats) || Date.now() > deadline) return stats;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('a served call makes the host side in the caller\'s netns, nothing in berthd\'s', async (t) => {
  const host = await TestHost.create(t, 'shimh');
  const ctr = await host.addNetns('shimc');
  const dataDir = await scratchDir('bt-shim-ipam-');
  const engine = new CniEngine(served, host);
  const before = await berthd.stats();
  const added = await engine.call('berth-bridge', 'ADD', bridgeConfig(dataDir), { containerId: 's1', netns: ctr.path, ifName: 'eth0' });
  t.equal(added.code, 0, added.stdout);
  t.equal((await berthd.stats()).served['berth-bridge ADD'], (before.served['berth-bridge ADD'] ?? 0) + 1, 'served by berthd');
  t.same((await linkNames(berthd.netns)).sort(), ['lo'], 'berthd\'s netns has no bridge or veth');
  t.equal(await nftTables(berthd.netns), '', 'berthd\'s netns has no nft table');
  t.same((await linkNames(host)).filter((name) => name.startsWith('veth') || name === 'btshim0').length, 2, 'bridge and host veth in the caller\'s netns');
  t.match(await nftTables(host), /table inet berth-nat/, 'masquerade table in the caller\'s netns');
  t.same(await linkNames(ctr), ['lo', 'eth0'], 'eth0 in the container');
  const deleted = await engine.call('berth-bridge', 'DEL', bridgeConfig(dataDir), { containerId: 's1', netns: ctr.path, ifName: 'eth0' });
  t.equal(deleted.code, 0, deleted.stdout);
  t.same((await linkNames(host)).sort(), ['btshim0', 'lo'], 'DEL removed the veth from the caller\'s netns');
  t.same(await reservations(dataDir, 'bt-shim'), [], 'reservation released');
});

t.test('a hung berthd: the shim execs the plugin after its bound, and the call runs once', async (t) => {
  const host = await TestHost.create(t, 'shimh');
  const ctr = await host.addNetns('shimc');
  const dataDir = await scratchDir('bt-shim-ipam-');
  const before = await berthd.stats();
  berthd.pause(true);
  t.teardown(() => berthd.pause(false));
  const startedMs = Date.now();
  const added = await new CniEngine(served, host).call('berth-bridge', 'ADD', bridgeConfig(dataDir), { containerId: 'h1', netns: ctr.path, ifName: 'eth0' });
  const elapsedMs = Date.now() - startedMs;
  berthd.pause(false);
  t.equal(added.code, 0, `ADD succeeded exec'd: ${added.stdout}`);
  t.ok(elapsedMs >= 2_000, `after the shim's 2 s accept bound (${elapsedMs} ms)`);
  const after = await statsWhen((stats) => totalCalls(stats.declined) > totalCalls(before.declined));
  t.equal(after.served['berth-bridge ADD'] ?? 0, before.served['berth-bridge ADD'] ?? 0, 'berthd, once resumed, did not run it');
  t.equal(totalCalls(after.declined), totalCalls(before.declined) + 1, 'it declined the stale connection of a shim that had hung up');
  t.equal((await reservations(dataDir, 'bt-shim')).length, 1, 'exactly one address reserved');
  const deleted = await new CniEngine(served, host).call('berth-bridge', 'DEL', bridgeConfig(dataDir), { containerId: 'h1', netns: ctr.path, ifName: 'eth0' });
  t.equal(deleted.code, 0, 'DEL served once berthd is back');
});

t.test('a caller in another mount namespace is declined and the shim execs the plugin', async (t) => {
  const host = await TestHost.create(t, 'shimh');
  const before = await berthd.stats();
  const result = await execCommand(['unshare', '--mount', '--propagation', 'slave', '--', 'nsenter', `--net=${host.path}`, '--', shim('berth-none')], {
    env: { ...berthd.callerEnv, CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}',
  });
  t.equal(result.code, 0, result.stdout);
  t.match(result.stdout, /"supportedVersions"/);
  const after = await statsWhen((stats) => (stats.declined['caller'] ?? 0) > (before.declined['caller'] ?? 0));
  t.equal(after.declined['caller'], (before.declined['caller'] ?? 0) + 1, 'declined as a caller berthd cannot serve');
  t.equal(totalCalls(after.served), totalCalls(before.served), 'nothing served');
});

t.test('another uid cannot reach berthd (the socket is 0600): refused, nothing changes', async (t) => {
  const host = await TestHost.create(t, 'shimh');
  const ctr = await host.addNetns('shimc');
  const dataDir = await scratchDir('bt-shim-ipam-');
  const before = await berthd.stats();
  const result = await execCommand(['nsenter', `--net=${host.path}`, '--', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', shim('berth-bridge')], {
    env: { ...berthd.callerEnv, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'u1', CNI_NETNS: ctr.path, CNI_IFNAME: 'eth0', CNI_PATH: berthImplementation.pluginDir },
    input: bridgeConfig(dataDir),
  });
  t.not(result.code, 0, `the call fails: ${result.stdout.trim()}`);
  t.same(await berthd.stats(), before, 'berthd saw nothing');
  t.same(await linkNames(host), ['lo'], 'no link on the host');
  t.same(await reservations(dataDir, 'bt-shim'), [], 'no reservation');
});

t.test('a hostile client: a frame naming a non-CNI variable, or too large, is dropped and nothing runs', async (t) => {
  const before = await berthd.stats();
  const upgrade = 'POST /v1/cni/berth-none HTTP/1.1\r\nHost: berthd\r\nConnection: Upgrade\r\nUpgrade: berth-cni/1\r\nContent-Length: 0\r\n\r\n';
  const attempt = (frame: Buffer): Promise<string> => new Promise((resolve) => {
    const socket = createConnection({ path: berthd.socket });
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n') && !received.includes('frame sent')) {
        received += 'frame sent';
        socket.write(frame);
      }
    });
    socket.on('close', () => resolve(received));
    socket.on('error', () => resolve(received));
    socket.write(upgrade);
  });
  const hostileEnv = encodeCall({ env: { CNI_COMMAND: 'VERSION' }, stdin: Buffer.from('{}') });
  hostileEnv.write('NODE_OPTION', 4);
  const answer1 = await attempt(hostileEnv);
  t.match(answer1, /^HTTP\/1\.1 101 /, 'upgraded');
  t.notMatch(answer1.slice(answer1.indexOf('frame sent')), /supportedVersions/, 'no answer to a frame with a non-CNI variable');
  const huge = Buffer.alloc(8);
  huge.writeUInt32BE(0xffff_fff0, 0);
  const answer2 = await attempt(huge);
  t.notMatch(answer2.slice(answer2.indexOf('frame sent')), /supportedVersions/, 'no answer to an oversized frame');
  t.same((await berthd.stats()).served, before.served, 'nothing served');
});

t.test('the exec fallback runs with a fixed environment: the engine\'s NODE_OPTIONS never loads code into the plugin', async (t) => {
  const dir = await scratchDir('bt-shim-env-');
  const marker = join(dir, 'loaded');
  const preload = join(dir, 'preload.cjs');
  await writeFile(preload, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'yes');\n`);
  const control = await execCommand([process.execPath, '-e', '0'], { env: { PATH: '/usr/bin:/bin', NODE_OPTIONS: `--require ${preload}` } });
  t.equal(control.code, 0);
  t.ok(existsSync(marker), 'control: node itself loads the preload from NODE_OPTIONS');
  await rm(marker);
  const result = await execCommand([shim('berth-ipam')], {
    env: { ...(await execModeEnv(t)), PATH: '/usr/bin:/bin', CNI_COMMAND: 'VERSION', NODE_OPTIONS: `--require ${preload}`, NODE_PATH: dir },
    input: '{"cniVersion":"1.0.0"}',
  });
  t.equal(result.code, 0, result.stdout);
  t.match(result.stdout, /"supportedVersions"/, 'the Node plugin answered');
  t.notOk(existsSync(marker), 'the preload did not run in the plugin');
});
