/**
 * The berth-macvlan executable as an engine runs it: one process per call, in the host netns (nsenter), config on
 * stdin. IPAM by the in-process berth-ipam and by the reference host-local exec'd from CNI_PATH.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasLink, makeNetns, pings, sh, tempDir, type Ns } from './macvlan-helpers.js';
import { execPlugin, type PluginExit } from './exec-plugin.js';

const bin = fileURLToPath(new URL('../../bin/berth-macvlan', import.meta.url));
const bundle = fileURLToPath(new URL('../../dist/bundle/berth-macvlan.cjs', import.meta.url));
const referenceDir = '/usr/lib/cni';

type Exit = PluginExit;

function exec(host: Ns, env: Record<string, string>, config: object): Promise<Exit> {
  return execPlugin(bin, { netnsPath: host.path, env: { CNI_PATH: referenceDir, ...env }, config });
}

t.before(() => {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build (scripts/bundle.mjs) first`);
});

for (const ipamType of ['berth-ipam', 'host-local']) {
  t.test(`exec'd in the host netns with ${ipamType}: ADD, CHECK, DEL`, { skip: ipamType === 'host-local' && !existsSync(`${referenceDir}/host-local`) && 'no reference host-local' }, async (t) => {
    const host = makeNetns(t, 'mxh');
    const peer = makeNetns(t, 'mxp');
    const ctr = makeNetns(t, 'mxc');
    sh(host, `ip link add up0 type veth peer name eth0 netns ${peer.path} && ip link set up0 up`);
    sh(peer, 'ip link set eth0 up && ip addr add 10.63.0.254/24 dev eth0');
    const config = {
      cniVersion: '1.0.0', name: 'bt-mvx', type: 'berth-macvlan', master: 'up0',
      ipam: { type: ipamType, dataDir: tempDir(t, 'mxipam'), subnet: '10.63.0.0/24', rangeStart: '10.63.0.20', rangeEnd: '10.63.0.30' },
    };
    const env = { CNI_CONTAINERID: 'ctr1', CNI_NETNS: ctr.path, CNI_IFNAME: 'net1' };
    const add = await exec(host, { ...env, CNI_COMMAND: 'ADD' }, config);
    t.equal(add.code, 0, `ADD: ${add.stdout}${add.stderr}`);
    const result = JSON.parse(add.stdout) as { cniVersion: string; ips: { address: string }[] };
    t.equal(result.cniVersion, '1.0.0');
    t.equal(result.ips[0]?.address, '10.63.0.20/24');
    t.ok(pings(ctr, '10.63.0.254'), 'the container reaches the peer on the uplink');
    const check = await exec(host, { ...env, CNI_COMMAND: 'CHECK' }, { ...config, prevResult: result });
    t.equal(check.code, 0, `CHECK: ${check.stdout}${check.stderr}`);
    const del = await exec(host, { ...env, CNI_COMMAND: 'DEL' }, config);
    t.equal(del.code, 0, `DEL: ${del.stdout}${del.stderr}`);
    t.equal(del.stdout, '');
    t.notOk(hasLink(ctr, 'net1'));
  });
}
