/**
 * SIGKILL during ADD at any point, then DEL: no link, address, nft element or IP reservation is left -- in both modes.
 * exec: the plugin process dies (BERTH_FAILPOINTS in its environment: it kills itself there; or a kill from outside
 * after a varying delay). berthd: berthd itself dies in the middle of the served call (the failpoint in berthd's
 * environment, or a kill from outside) and the shim reports the broken call; the DEL then runs exec'd while berthd is
 * down (served and exec'd calls mix on one host), or served by a restarted berthd.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestHost, type TestNetns } from '../../src/harness/index.js';
import {
  berthImplementation, CniBerthd, CniEngine, cniModes, execModeEnv, globalAddresses, linkNames, type CniMode, type PluginOutcome,
} from '../../src/cni/index.js';

const bridgeName = 'btbr0';
const gateways = ['10.72.0.1/24', 'fd72::1/64'];
const dualStack = [[{ subnet: '10.72.0.0/24' }], [{ subnet: 'fd72::/64' }]];

function bridgeConfig(name: string, dataDir: string): Record<string, unknown> {
  return {
    cniVersion: '1.1.0', name, type: 'berth-bridge', bridge: bridgeName, isGateway: true, isDefaultGateway: true, ipMasq: true,
    macspoofchk: true, ipam: { type: 'berth-ipam', dataDir, ranges: dualStack },
  };
}

async function nftTable(host: TestNetns, family: string, table: string): Promise<string | undefined> {
  const result = await host.exec(['nft', '-j', 'list', 'table', family, table]);
  return result.code === 0 ? result.stdout : undefined;
}

/** One mode's way of crashing at a failpoint and of running the calls after the crash. */
interface CrashMode {
  readonly engine: (host: TestNetns, failpoint?: string) => CniEngine;
  /** Before a crashing call: berthd restarted with the failpoint in its environment (exec: nothing to do). */
  arm(failpoint: string): Promise<void>;
  /** After it: berthd restarted without failpoints (else calls go exec'd until the next arm). */
  recover(): Promise<void>;
  /** The crashing call's outcome is what this mode's crash looks like to the engine. */
  crashed(outcome: PluginOutcome): boolean;
}

async function crashMode(t: Test, mode: CniMode): Promise<CrashMode & { berthd?: CniBerthd }> {
  if (mode === 'exec') {
    const env = await execModeEnv(t);
    const implementation = { ...berthImplementation, env };
    return {
      engine: (host, failpoint) => new CniEngine(implementation, host, failpoint === undefined ? {} : { BERTH_FAILPOINTS: failpoint }),
      arm: async () => undefined,
      recover: async () => undefined,
      crashed: (outcome) => outcome.signal === 'SIGKILL',
    };
  }
  const berthd = await CniBerthd.start(t);
  const implementation = { ...berthImplementation, env: berthd.callerEnv };
  return {
    berthd,
    engine: (host) => new CniEngine(implementation, host),
    arm: (failpoint) => berthd.restart({ BERTH_FAILPOINTS: failpoint }),
    recover: () => berthd.restart(),
    crashed: (outcome) => outcome.code === 1 && /berthd closed the connection/.test(outcome.stdout),
  };
}

async function scratchDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bt-crash-ipam-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const ipamInnerFailpoints = ['ipam-after-lock', 'ipam-after-temp-write', 'ipam-after-last-reserved', 'ipam-before-unlock'];

/** A plugin's ADD failpoints, and the host it needs: its config and what an attachment could leave behind. */
interface FailpointSuite {
  readonly plugin: string;
  readonly failpoints: readonly string[];
  prepare(t: Test, host: TestHost): Promise<{ config: string; leftovers(ctr: TestNetns): Promise<string[]> }>;
}

/** Links, IPAM files and nft elements of a Berth attachment left in `host`/`ctr`; `attachmentLink` tells host links. */
async function attachmentLeftovers(host: TestNetns, ctr: TestNetns, dataDir: string, network: string,
  attachmentLink: (name: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  for (const name of await linkNames(host)) if (attachmentLink(name)) found.push(`host link ${name}`);
  for (const name of await linkNames(ctr)) if (name !== 'lo') found.push(`container link ${name}`);
  const files = await readdir(join(dataDir, network)).catch(() => [] as string[]);
  for (const file of files) if (file !== 'lock' && !file.startsWith('last_reserved_ip.')) found.push(`ipam file ${file}`);
  for (const [family, table] of [['inet', 'berth-nat'], ['bridge', 'berth-macspoof']] as const) {
    const listing = await nftTable(host, family, table);
    if (listing !== undefined) found.push(`nft table ${family} ${table}: ${listing.match(/"comment":\s*"[^"]*\/[^"]*"/g)?.join(' ') ?? 'no elements'}`);
  }
  return found;
}

async function bridgeLeftovers(host: TestNetns, ctr: TestNetns, dataDir: string, network: string): Promise<string[]> {
  return [
    ...await attachmentLeftovers(host, ctr, dataDir, network, (name) => name !== 'lo' && name !== bridgeName),
    ...(await globalAddresses(host, bridgeName)).filter((address) => !gateways.includes(address)).map((address) => `bridge address ${address}`),
  ];
}

const bridgeSuite: FailpointSuite = {
  plugin: 'berth-bridge',
  failpoints: [
    'bridge-after-bridge', 'bridge-after-veth', 'ipam-after-lock', 'ipam-after-temp-write', 'ipam-after-reserve',
    'ipam-after-last-reserved', 'ipam-before-unlock', 'bridge-after-ipam', 'bridge-after-container', 'bridge-after-gateway',
    'bridge-after-nat', 'bridge-after-macspoof',
  ],
  async prepare(t, host) {
    const dataDir = await scratchDir(t);
    return {
      config: JSON.stringify(bridgeConfig('bt-crash', dataDir)),
      leftovers: (ctr) => bridgeLeftovers(host, ctr, dataDir, 'bt-crash'),
    };
  },
};

/** A master link for macvlan, and an underlay address for the overlay: a veth whose peer is in a netns of its own. */
async function wire(host: TestHost, name: string, address?: string): Promise<void> {
  const peer = await host.addNetns('kw');
  await host.execChecked(['ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer.path]);
  await host.execChecked(['ip', 'link', 'set', name, 'up']);
  if (address !== undefined) await host.execChecked(['ip', 'addr', 'add', address, 'dev', name]);
}

const macvlanSuite: FailpointSuite = {
  plugin: 'berth-macvlan',
  failpoints: ['macvlan-after-link', 'ipam-after-reserve', 'macvlan-after-ipam', 'macvlan-after-container'],
  async prepare(t, host) {
    const dataDir = await scratchDir(t);
    await wire(host, 'btm0');
    return {
      config: JSON.stringify({
        cniVersion: '1.1.0', name: 'bt-crash-mv', type: 'berth-macvlan', master: 'btm0', mode: 'bridge',
        ipam: { type: 'berth-ipam', dataDir, ranges: [[{ subnet: '10.75.0.0/24' }]] },
      }),
      leftovers: (ctr) => attachmentLeftovers(host, ctr, dataDir, 'bt-crash-mv', (name) => name !== 'lo' && name !== 'btm0'),
    };
  },
};

const vxlanSuite: FailpointSuite = {
  plugin: 'berth-vxlan',
  failpoints: ['vxlan-after-overlay', 'vxlan-after-ipam', 'vxlan-after-veth', 'vxlan-after-container', 'vxlan-after-nat'],
  async prepare(t, host) {
    const dataDir = await scratchDir(t);
    await wire(host, 'btul0', '10.123.0.1/24');
    const config = {
      cniVersion: '1.1.0', name: 'bt-crash-vx', type: 'berth-vxlan', vni: 4243, subnet: '10.245.0.0/16', ipMasq: true,
      peers: [{ address: '10.123.0.1', subnet: '10.245.1.0/24' }, { address: '10.123.0.2', subnet: '10.245.2.0/24' }],
      ipam: { type: 'berth-ipam', dataDir },
    };
    return {
      config: JSON.stringify(config),
      // The overlay's own devices (vxlan and bridge) are shared by the network's attachments, as a bridge is; an
      // attachment's host link is its `bvv…` veth end.
      leftovers: (ctr) => attachmentLeftovers(host, ctr, dataDir, 'bt-crash-vx', (name) => name.startsWith('bvv')),
    };
  },
};

for (const mode of cniModes) {
  for (const suite of [bridgeSuite, macvlanSuite, vxlanSuite]) {
    t.test(`${mode}: ${suite.plugin} killed at each failpoint of ADD, then DEL: nothing left`, async (t) => {
      const crash = await crashMode(t, mode);
      const host = await TestHost.create(t, 'kh');
      const { config, leftovers } = await suite.prepare(t, host);
      // Each berthd kill costs a berthd start (~1 s): berthd mode skips berth-ipam's inner points, which run the same
      // in-process code in both modes (exec mode covers them); it keeps every step of the plugin itself.
      const failpoints = mode === 'exec' ? suite.failpoints : suite.failpoints.filter((point) => !ipamInnerFailpoints.includes(point));
      for (const [index, point] of failpoints.entries()) {
        const ctr = await host.addNetns('kc');
        const attachment = { containerId: `k${index}`, netns: ctr.path, ifName: 'eth0' };
        await crash.arm(point);
        const killed = await crash.engine(host, point).call(suite.plugin, 'ADD', config, attachment);
        t.ok(crash.crashed(killed), `ADD died at ${point} (${killed.code ?? killed.signal}: ${killed.stdout.trim()})`);
        if (crash.berthd !== undefined) t.ok(await crash.berthd.exits(), `berthd died at ${point}; the DEL runs exec'd`);
        const deleted = await crash.engine(host).call(suite.plugin, 'DEL', config, attachment);
        t.equal(deleted.code, 0, `DEL after ${point}: ${deleted.stdout}`);
        t.same(await leftovers(ctr), [], `nothing left after a kill at ${point}`);
      }
      await crash.recover();
      const ctr = await host.addNetns('kc');
      const ok = await crash.engine(host).call(suite.plugin, 'ADD', config, { containerId: 'after', netns: ctr.path, ifName: 'eth0' });
      t.equal(ok.code, 0, `a normal ADD still works afterwards: ${ok.stdout}`);
      if (crash.berthd !== undefined) t.equal((await crash.berthd.stats()).served[`${suite.plugin} ADD`], 1, 'served by the last berthd');
    });
  }

  t.test(`${mode}: berth-portmap killed after its NAT change, then DEL of the conflist: nothing left`, async (t) => {
    const crash = await crashMode(t, mode);
    const host = await TestHost.create(t, 'kh');
    const ctr = await host.addNetns('kc');
    const dataDir = await scratchDir(t);
    const bridge = JSON.stringify(bridgeConfig('bt-crash-pm', dataDir));
    const attachment = { containerId: 'pm', netns: ctr.path, ifName: 'eth0' };
    const added = await crash.engine(host).call('berth-bridge', 'ADD', bridge, attachment);
    t.equal(added.code, 0, added.stdout);
    const portmap = JSON.stringify({
      cniVersion: '1.1.0', name: 'bt-crash-pm', type: 'berth-portmap', prevResult: added.json,
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    });
    await crash.arm('portmap-after-nat');
    const killed = await crash.engine(host, 'portmap-after-nat').call('berth-portmap', 'ADD', portmap, attachment);
    t.ok(crash.crashed(killed), `portmap ADD died (${killed.code ?? killed.signal})`);
    t.match(await nftTable(host, 'inet', 'berth-nat'), /8080/, 'the mapping was written before the kill');
    await crash.recover();
    t.equal((await crash.engine(host).call('berth-portmap', 'DEL', portmap, attachment)).code, 0);
    t.equal((await crash.engine(host).call('berth-bridge', 'DEL', bridge, attachment)).code, 0);
    t.same(await bridgeLeftovers(host, ctr, dataDir, 'bt-crash-pm'), []);
  });
}

/** Starts the shim's ADD as an engine would and, after `delayMs`, kills (the shim itself, or berthd). */
function addKilledAfter(host: TestNetns, env: Record<string, string>, stdin: string, delayMs: number, kill: (shim: ChildProcess) => void): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('nsenter', [`--net=${host.path}`, '--', join(berthImplementation.pluginDir, 'berth-bridge')], {
      env: { PATH: process.env['PATH'] ?? '', CNI_COMMAND: 'ADD', CNI_PATH: berthImplementation.pluginDir, ...env },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    const timer = setTimeout(() => kill(child), delayMs);
    child.on('close', () => { clearTimeout(timer); resolve(); });
  });
}

for (const mode of cniModes) {
  t.test(`${mode}: ${mode === 'exec' ? 'the plugin' : 'berthd'} killed from outside at varying moments of ADD, then DEL: nothing left`, async (t) => {
    const crash = await crashMode(t, mode);
    const host = await TestHost.create(t, 'kh');
    const dataDir = await scratchDir(t);
    const config = JSON.stringify(bridgeConfig('bt-crash-x', dataDir));
    const callerEnv = crash.berthd?.callerEnv ?? (await execModeEnv(t));
    // A served ADD takes ~15 ms, an exec'd one ~60 ms: kill within each one's span.
    const delaysMs = mode === 'exec' ? [10, 30, 50, 70, 90, 110, 130, 160] : [2, 5, 8, 12];
    for (const [index, delayMs] of delaysMs.entries()) {
      const ctr = await host.addNetns('kc');
      const attachment = { CNI_CONTAINERID: `x${index}`, CNI_NETNS: ctr.path, CNI_IFNAME: 'eth0' };
      const berthd = crash.berthd;
      const kill = berthd === undefined ? (shim: ChildProcess) => shim.kill('SIGKILL') : () => { void berthd.kill(); };
      await crash.recover();
      await addKilledAfter(host, { ...callerEnv, ...attachment }, config, delayMs, kill);
      const deleted = await crash.engine(host).call('berth-bridge', 'DEL', config, { containerId: `x${index}`, netns: ctr.path, ifName: 'eth0' });
      t.equal(deleted.code, 0, `DEL (exec'd if berthd was killed) after a kill at ${delayMs} ms: ${deleted.stdout}`);
      t.same(await bridgeLeftovers(host, ctr, dataDir, 'bt-crash-x'), [], `nothing left (kill at ${delayMs} ms)`);
    }
  });
}
