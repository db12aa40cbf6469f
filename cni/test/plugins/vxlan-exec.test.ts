/** The berth-vxlan executable as an engine runs it: one process per call, each in its host's netns (nsenter). */
import t from 'tap';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasLink, makeNetns, pings, type Ns } from './macvlan-helpers.js';
import { buildUnderlay, overlayConf, peersOf, type TestHostNode } from './vxlan-helpers.js';
import { execPlugin, type PluginExit } from './exec-plugin.js';

const bin = fileURLToPath(new URL('../../bin/berth-vxlan', import.meta.url));
const bundle = fileURLToPath(new URL('../../dist/bundle/berth-vxlan.cjs', import.meta.url));

type Exit = PluginExit;

function exec(host: Ns, env: Record<string, string>, config: object): Promise<Exit> {
  return execPlugin(bin, { netnsPath: host.path, env: { CNI_PATH: '/usr/lib/cni', ...env }, config });
}

t.before(() => {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build (scripts/bundle.mjs) first`);
});

t.test('exec\'d on two hosts with one static peer list: ADD, ping across, CHECK, DEL', async (t) => {
  const { hosts } = buildUnderlay(t, 2);
  const peers = peersOf(hosts);
  const containers: Ns[] = [];
  for (const [index, host] of (hosts as TestHostNode[]).entries()) {
    const ns = makeNetns(t, 'vxe');
    containers.push(ns);
    const env = { CNI_CONTAINERID: `ctr${index}`, CNI_NETNS: ns.path, CNI_IFNAME: 'eth0' };
    const add = await exec(host.ns, { ...env, CNI_COMMAND: 'ADD' }, overlayConf(host, peers, { cniVersion: '0.4.0' }));
    t.equal(add.code, 0, `ADD on ${host.address}: ${add.stdout}${add.stderr}`);
    const result = JSON.parse(add.stdout) as { cniVersion: string; ips: { version: string; address: string }[] };
    t.match(result, { cniVersion: '0.4.0', ips: [{ version: '4', address: `10.244.${index + 1}.2/24` }] }, 'a 0.4.0 result');
    const check = await exec(host.ns, { ...env, CNI_COMMAND: 'CHECK' }, { ...overlayConf(host, peers, { cniVersion: '0.4.0' }), prevResult: result });
    t.equal(check.code, 0, `CHECK: ${check.stdout}${check.stderr}`);
  }
  const [c1, c2] = containers as [Ns, Ns];
  t.ok(pings(c1, '10.244.2.2'), 'container on host 1 reaches the one on host 2');
  for (const [index, host] of (hosts as TestHostNode[]).entries()) {
    const del = await exec(host.ns, { CNI_CONTAINERID: `ctr${index}`, CNI_NETNS: containers[index]?.path ?? '', CNI_IFNAME: 'eth0', CNI_COMMAND: 'DEL' }, overlayConf(host, peers));
    t.equal(del.code, 0, `DEL: ${del.stdout}${del.stderr}`);
  }
  t.notOk(hasLink(c2, 'eth0'));
});
