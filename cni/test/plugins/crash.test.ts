/**
 * The Done-when of issue 4: SIGKILL a plugin at any point during ADD, then DEL: no link, address, nft rule or IP
 * reservation is left. Deterministic points through BERTH_FAILPOINTS (the process kills itself there), and kills
 * from outside after a varying delay.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeNetns, nftTableJson, type Netns } from '../nat/topology.js';
import { addressesOf, binDir, bridgeConfig, callChecked, callPlugin, ipamDir, linkNames } from './helpers.js';

const dualStack = [[{ subnet: '10.72.0.0/24' }], [{ subnet: 'fd72::/64' }]];

/** Everything an attachment could leave behind, described; empty when the host and container are clean. */
function leftovers(host: Netns, ctr: Netns, dataDir: string, network: string): string[] {
  const found: string[] = [];
  for (const name of linkNames(host)) if (name !== 'lo' && name !== 'btbr0') found.push(`host link ${name}`);
  for (const name of linkNames(ctr)) if (name !== 'lo') found.push(`container link ${name}`);
  const bridgeAddresses = addressesOf(host, 'btbr0').filter((address) => !['10.72.0.1/24', 'fd72::1/64'].includes(address));
  for (const address of bridgeAddresses) found.push(`bridge address ${address}`);
  let files: string[] = [];
  try { files = readdirSync(join(dataDir, network)); } catch { files = []; }
  for (const file of files) if (file !== 'lock' && !file.startsWith('last_reserved_ip.')) found.push(`ipam file ${file}`);
  for (const table of [['inet', 'berth-nat'], ['bridge', 'berth-macspoof']] as const) {
    const listing = nftTableJson(host, table[0], table[1]);
    if (listing !== undefined) found.push(`nft table ${table[0]} ${table[1]}: ${JSON.stringify(listing).match(/"comment":\s*"[^"]*\/[^"]*"/g)?.join(' ') ?? 'no elements'}`);
  }
  return found;
}

const failpoints = [
  'bridge-after-bridge', 'bridge-after-veth', 'ipam-after-lock', 'ipam-after-temp-write', 'ipam-after-reserve',
  'ipam-after-last-reserved', 'ipam-before-unlock', 'bridge-after-ipam', 'bridge-after-container', 'bridge-after-gateway',
  'bridge-after-nat', 'bridge-after-macspoof',
];

t.test('berth-bridge killed at each failpoint of ADD, then DEL: nothing left', async (t) => {
  const host = makeNetns(t, 'kh');
  const dataDir = ipamDir(t);
  const config = bridgeConfig('bt-crash', dataDir, { macspoofchk: true }, dualStack);
  for (const [index, point] of failpoints.entries()) {
    const ctr = makeNetns(t, 'kc');
    const call = { plugin: 'berth-bridge', host, containerId: `k${index}`, netns: ctr.path, ifName: 'eth0', config } as const;
    const killed = await callPlugin({ ...call, command: 'ADD', env: { BERTH_FAILPOINTS: point } });
    t.equal(killed.signal, 'SIGKILL', `ADD died at ${point}`);
    const deleted = await callPlugin({ ...call, command: 'DEL' });
    t.equal(deleted.code, 0, `DEL after ${point}: ${deleted.stdout}`);
    t.same(leftovers(host, ctr, dataDir, 'bt-crash'), [], `nothing left after a kill at ${point}`);
  }
  const ctr = makeNetns(t, 'kc');
  const ok = await callPlugin({ plugin: 'berth-bridge', host, containerId: 'after', netns: ctr.path, ifName: 'eth0', config, command: 'ADD' });
  t.equal(ok.code, 0, 'a normal ADD still works afterwards');
});

t.test('berth-portmap killed after its NAT change, then DEL of the conflist: nothing left', async (t) => {
  const host = makeNetns(t, 'kh');
  const ctr = makeNetns(t, 'kc');
  const dataDir = ipamDir(t);
  const bridge = bridgeConfig('bt-crash-pm', dataDir, {}, dualStack);
  const call = { host, containerId: 'pm', netns: ctr.path, ifName: 'eth0' } as const;
  const prevResult = await callChecked({ ...call, plugin: 'berth-bridge', command: 'ADD', config: bridge });
  const portmap = { cniVersion: '1.1.0', name: 'bt-crash-pm', type: 'berth-portmap', runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }, prevResult };
  const killed = await callPlugin({ ...call, plugin: 'berth-portmap', command: 'ADD', config: portmap, env: { BERTH_FAILPOINTS: 'portmap-after-nat' } });
  t.equal(killed.signal, 'SIGKILL');
  t.match(JSON.stringify(nftTableJson(host, 'inet', 'berth-nat')), /8080/, 'the mapping was written before the kill');
  t.equal((await callPlugin({ ...call, plugin: 'berth-portmap', command: 'DEL', config: portmap })).code, 0);
  t.equal((await callPlugin({ ...call, plugin: 'berth-bridge', command: 'DEL', config: bridge })).code, 0);
  t.same(leftovers(host, ctr, dataDir, 'bt-crash-pm'), []);
});

/** Starts ADD as an engine would and kills it with SIGKILL after `delayMs`; resolves when it is gone. */
function addKilledAfter(host: Netns, ctr: Netns, id: string, config: object, delayMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn('nsenter', [`--net=${host.path}`, '--', join(binDir, 'berth-bridge')], {
      env: { PATH: process.env['PATH'] ?? '', CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: ctr.path, CNI_IFNAME: 'eth0', CNI_PATH: binDir },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.end(JSON.stringify(config));
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('close', (_code, signal) => { clearTimeout(timer); resolve(signal); });
  });
}

t.test('berth-bridge killed from outside at varying moments of ADD, then DEL: nothing left', async (t) => {
  const host = makeNetns(t, 'kh');
  const dataDir = ipamDir(t);
  const config = bridgeConfig('bt-crash-x', dataDir, { macspoofchk: true }, dualStack);
  for (const [index, delayMs] of [10, 30, 50, 70, 90, 110, 130, 160].entries()) {
    const ctr = makeNetns(t, 'kc');
    const signal = await addKilledAfter(host, ctr, `x${index}`, config, delayMs);
    const deleted = await callPlugin({ plugin: 'berth-bridge', host, containerId: `x${index}`, netns: ctr.path, ifName: 'eth0', config, command: 'DEL' });
    t.equal(deleted.code, 0, `DEL after a kill at ${delayMs} ms (${signal ?? 'finished first'})`);
    t.same(leftovers(host, ctr, dataDir, 'bt-crash-x'), [], `nothing left (kill at ${delayMs} ms)`);
  }
});
