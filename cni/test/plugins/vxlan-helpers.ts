/**
 * Test-only multi-host fixture for berth-vxlan: an "underlay" netns with a bridge, and "host" namespaces each joined
 * to it by a veth (their eth0), each running the plugin in-process with its netns as host. Plus a tiny TCP server
 * that answers with the client address it saw (what masquerade changes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createBerthVxlan } from '../../src/plugins/vxlan/plugin.js';
import type { CniPlugin } from '../../src/skel/plugin.js';
import { makeNetns, sh, tempDir, type Ns, type Teardown } from './macvlan-helpers.js';

export interface TestHostNode { readonly ns: Ns; readonly address: string; readonly subnet: string; readonly plugin: CniPlugin; readonly dataDir: string }
export interface Underlay { readonly ul: Ns; readonly hosts: readonly TestHostNode[]; readonly lockPath: string }

/** The underlay's own address on its bridge: "outside the overlay" for masquerade tests. */
export const outsideV4 = '10.123.0.254';

export function buildUnderlay(t: Teardown, count: number, options: { family?: 4 | 6; mtu?: number } = {}): Underlay {
  const family = options.family ?? 4;
  const mtu = options.mtu ?? 1500;
  const ul = makeNetns(t, 'vxu');
  sh(ul, `ip link add br0 type bridge && ip link set br0 mtu ${mtu} up && ip addr add ${outsideV4}/24 dev br0`);
  const lockPath = `${tempDir(t, 'vxlock')}/nat.lock`;
  const hosts = Array.from({ length: count }, (_, index) => {
    const ns = makeNetns(t, 'vxh');
    const address = family === 4 ? `10.123.0.${index + 1}` : `fd00:123::${index + 1}`;
    sh(ul, `ip link add ul${index} mtu ${mtu} type veth peer name eth0 netns ${ns.path} && ip link set ul${index} master br0 up`);
    sh(ns, `ip link set eth0 mtu ${mtu} up && ip addr add ${address}/${family === 4 ? 24 : 64} dev eth0${family === 6 ? ' nodad' : ''}` +
      (family === 4 ? ` && ip route add default via ${outsideV4}` : ''));
    const plugin = createBerthVxlan({ hostNetns: ns.path, natLockPath: lockPath });
    return { ns, address, subnet: `10.244.${index + 1}.0/24`, plugin, dataDir: tempDir(t, 'vxipam') };
  });
  if (family === 6) sh(ul, 'ip addr add fd00:123::fe/64 dev br0 nodad');
  return { ul, hosts, lockPath };
}

export function peersOf(hosts: readonly TestHostNode[]): object[] {
  return hosts.map((host) => ({ address: host.address, subnet: host.subnet }));
}

/** The conflist's plugin config as one host sees it (its own IPAM dataDir; everything else shared). */
export function overlayConf(host: TestHostNode, peers: object[], extra: object = {}): object {
  return {
    cniVersion: '1.1.0', name: 'bt-ovl', type: 'berth-vxlan', vni: 4242, subnet: '10.244.0.0/16', peers,
    ipam: { type: 'berth-ipam', dataDir: host.dataDir },
    ...extra,
  };
}

const serverSource = `
const server = require('node:net').createServer((socket) => { socket.end(socket.remoteAddress.replace(/^::ffff:/, '') + '\\n'); });
server.listen({ port: Number(process.argv[1]), host: '0.0.0.0' }, () => console.log('ready'));`;

/** Starts, in the netns, a TCP server answering each connection with the client address it saw; killed in teardown. */
export async function startWhoamiServer(t: Teardown, ns: Ns, port: number): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${ns.path}`, process.execPath, '-e', serverSource, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server in ${ns.name} did not start in 10 s`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => { if (String(chunk).includes('ready')) { clearTimeout(timer); resolve(); } });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server in ${ns.name} exited with ${code}`)); });
  });
  return child;
}

const clientSource = `
const timer = setTimeout(() => process.exit(2), 3000);
let data = '';
const socket = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
socket.on('data', (chunk) => { data += chunk; });
socket.on('end', () => { clearTimeout(timer); process.stdout.write(data); });
socket.on('error', () => process.exit(1));`;

/** The address the server at host:port saw this netns connect from, or undefined when nothing answered in 3 s. */
export function whoami(ns: Ns, host: string, port: number): string | undefined {
  const result = spawnSync('nsenter', [`--net=${ns.path}`, process.execPath, '-e', clientSource, host, String(port)], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}
