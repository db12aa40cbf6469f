/**
 * GC and STATUS of every Berth plugin, in both modes: a GC without `cni.dev/valid-attachments` is refused the same
 * way by every plugin and deletes nothing; STATUS of none, portmap, firewall (whose table must be in place), bridge
 * and host-device; host-device's GC keeps listed attachments and forgets the rest.
 */
import t, { type Test } from 'tap';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '@berth/cni';
import { TestHost } from '../../src/harness/index.js';
import {
  berthImplementation, CniBerthd, CniEngine, cniModes, execModeEnv, linkNames, reservedAddresses, rulesetText,
  type CniImplementation, type CniMode,
} from '../../src/cni/index.js';

const berthd = await CniBerthd.start(t);

async function modeImplementation(t: Test, mode: CniMode): Promise<CniImplementation> {
  return { ...berthImplementation, env: mode === 'berthd' ? berthd.callerEnv : { ...(await execModeEnv(t)), BERTH_ROOT: await scratch(t, 'bt-gc-root-') } };
}

async function scratch(t: Test, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function conflist(dataDir: string): JsonObject {
  return {
    cniVersion: '1.1.0', name: 'bt-gc',
    plugins: [
      { type: 'berth-bridge', bridge: 'btgc0', isGateway: true, ipMasq: true, ipam: { type: 'berth-ipam', dataDir, ranges: [[{ subnet: '10.74.0.0/24' }]] } },
      { type: 'berth-portmap', capabilities: { portMappings: true } },
      { type: 'berth-firewall' },
    ],
  };
}

/** Every plugin type with a config it accepts (GC and STATUS need no attachment). */
function everyPlugin(dataDir: string, stateDir: string): JsonObject[] {
  const ipam = { type: 'berth-ipam', dataDir, ranges: [[{ subnet: '10.74.0.0/24' }]] };
  return [
    { type: 'berth-bridge', bridge: 'btgc0', ipam },
    { type: 'berth-portmap' },
    { type: 'berth-firewall' },
    ipam,
    { type: 'berth-host-device', device: 'btdev0', stateDir },
    { type: 'berth-macvlan', master: 'btgc0', ipam },
    { type: 'berth-vxlan', vni: 42, peers: [], ipam: { type: 'berth-ipam', dataDir } },
    { type: 'berth-none' },
  ];
}

for (const mode of cniModes) {
  t.test(`${mode}: GC without cni.dev/valid-attachments is refused by every plugin and deletes nothing`, async (t) => {
    const implementation = await modeImplementation(t, mode);
    const host = await TestHost.create(t, 'gch');
    const ctr = await host.addNetns('gcc');
    const dataDir = await scratch(t, 'bt-gc-ipam-');
    const stateDir = await scratch(t, 'bt-gc-hd-');
    const engine = new CniEngine(implementation, host);
    await engine.network(conflist(dataDir), {
      command: 'ADD', attachment: { containerId: 'g1', netns: ctr.path, ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] } },
    });
    const before = { reserved: await reservedAddresses(dataDir, 'bt-gc'), ruleset: await rulesetText(host), links: await linkNames(host) };
    t.equal(before.reserved.length, 1, 'one reservation');
    t.match(before.ruleset, /bt-gc\/g1\/eth0/, 'NAT elements tagged with the attachment');
    for (const plugin of everyPlugin(dataDir, stateDir)) {
      const outcome = await engine.call(String(plugin['type']), 'GC', JSON.stringify({ cniVersion: '1.1.0', name: 'bt-gc', ...plugin }));
      t.equal(outcome.json?.['code'], 7, `${String(plugin['type'])}: code 7`);
      t.match(String(outcome.json?.['msg']), /"cni\.dev\/valid-attachments" is required for GC; nothing was collected/, `${String(plugin['type'])}: says why`);
    }
    t.same(await reservedAddresses(dataDir, 'bt-gc'), before.reserved, 'the reservation is still there');
    t.equal(await rulesetText(host), before.ruleset, 'every nft table, set and element is unchanged');
    t.same(await linkNames(host), before.links, 'every link is still there');
  });

  t.test(`${mode}: STATUS of none, portmap, bridge and the firewall, which fails when its table is gone`, async (t) => {
    const implementation = await modeImplementation(t, mode);
    const host = await TestHost.create(t, 'sth');
    const ctr = await host.addNetns('stc');
    const dataDir = await scratch(t, 'bt-status-ipam-');
    const engine = new CniEngine(implementation, host);
    const status = async (plugin: JsonObject) => engine.call(String(plugin['type']), 'STATUS', JSON.stringify({ cniVersion: '1.1.0', name: 'bt-gc', ...plugin }));
    const [bridge, portmap, firewall] = everyPlugin(dataDir, dataDir) as [JsonObject, JsonObject, JsonObject];
    for (const plugin of [{ type: 'berth-none' }, portmap, bridge, firewall]) {
      const outcome = await status(plugin);
      t.equal(outcome.code, 0, `${String(plugin['type'])} STATUS on a fresh host: ${outcome.stdout}`);
    }
    await engine.network(conflist(dataDir), { command: 'ADD', attachment: { containerId: 's1', netns: ctr.path, ifName: 'eth0' } });
    t.equal((await status(firewall)).code, 0, 'firewall STATUS with its table in place');
    await host.execChecked(['nft', 'delete', 'table', 'inet', 'berth-firewall']);
    const missing = await status(firewall);
    t.equal(missing.json?.['code'], 50, 'firewall STATUS: not available once its table is gone');
    t.match(String(missing.json?.['msg']), /table applied in this network namespace is missing or stale/);
  });

  t.test(`${mode}: host-device GC keeps listed attachments and forgets the others; STATUS passes`, async (t) => {
    const implementation = await modeImplementation(t, mode);
    const host = await TestHost.create(t, 'hdh');
    const ctr = await host.addNetns('hdc');
    const stateDir = await scratch(t, 'bt-hd-state-');
    const engine = new CniEngine(implementation, host);
    const wire = await host.addNetns('hdw');
    await host.execChecked(['ip', 'link', 'add', 'btdev0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', wire.path]);
    const config = { cniVersion: '1.1.0', name: 'bt-hd', type: 'berth-host-device', device: 'btdev0', stateDir };
    const call = (command: 'ADD' | 'GC' | 'STATUS', extra: JsonObject = {}) => engine.call('berth-host-device', command, JSON.stringify({ ...config, ...extra }),
      command === 'ADD' ? { containerId: 'hd1', netns: ctr.path, ifName: 'eth1' } : undefined);
    t.equal((await call('STATUS')).code, 0, 'STATUS before any attachment');
    t.equal((await call('ADD')).code, 0, 'btdev0 moved into the container');
    const records = async () => (await readdir(stateDir).catch(() => [] as string[])).length;
    t.equal(await records(), 1, 'one record');
    t.equal((await call('GC', { 'cni.dev/valid-attachments': [{ containerID: 'hd1', ifname: 'eth1' }] })).code, 0);
    t.equal(await records(), 1, 'a listed attachment keeps its record');
    t.same(await linkNames(ctr), ['lo', 'eth1'], 'and its device');
    t.equal((await call('STATUS')).code, 0, 'STATUS with an attachment');
    await ctr.remove();
    t.equal((await call('GC', { 'cni.dev/valid-attachments': [] })).code, 0);
    t.equal(await records(), 0, 'the attachment of a container that is gone is forgotten');
  });
}
