/**
 * Test-only kernel fixtures for the NAT and plugin tests: namespaces named `bt-…` made with `ip netns add` and
 * removed in teardown, commands run inside them with nsenter, and tiny Node servers that answer with the address
 * they saw the client come from (which is what masquerade and DNAT change).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Netns { readonly name: string; readonly path: string }
export interface Teardown { teardown(fn: () => unknown): void }

export const suffix = (): string => randomBytes(3).toString('hex');

/** A fresh netns `bt-<tag>-<random>` with loopback up, deleted in teardown (its links and rules go with it). */
export function makeNetns(t: Teardown, tag: string): Netns {
  const name = `bt-${tag}-${suffix()}`;
  const created = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`ip netns add ${name}: ${created.stderr}`);
  t.teardown(() => { spawnSync('ip', ['netns', 'del', name]); });
  const ns = { name, path: `/run/netns/${name}` };
  sh(ns, 'ip link set lo up');
  return ns;
}

/** Runs a shell command inside the netns; throws with stderr when it fails. */
export function sh(ns: Netns, command: string): string {
  const result = spawnSync('nsenter', [`--net=${ns.path}`, 'sh', '-c', command], { encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`in ${ns.name}: ${command}: exit ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** Like `sh` but returns the exit status instead of throwing. */
export function shStatus(ns: Netns, command: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('nsenter', [`--net=${ns.path}`, 'sh', '-c', command], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `nft -j list table …` inside the netns, or undefined when the table does not exist. Inspection only. */
export function nftTableJson(ns: Netns, family: string, table: string): { nftables: Record<string, unknown>[] } | undefined {
  const result = shStatus(ns, `nft -j list table ${family} ${table}`);
  return result.status === 0 ? JSON.parse(result.stdout) as { nftables: Record<string, unknown>[] } : undefined;
}

const serverSource = `
const [proto, port] = process.argv.slice(1);
const answer = (address) => address.replace(/^::ffff:/, '');
if (proto === 'tcp') {
  const server = require('node:net').createServer((socket) => { socket.end(answer(socket.remoteAddress) + '\\n'); });
  server.listen({ port: Number(port), host: '::', ipv6Only: false }, () => console.log('ready'));
} else {
  const socket = require('node:dgram').createSocket({ type: 'udp6', ipv6Only: false });
  socket.on('message', (message, peer) => socket.send(answer(peer.address) + '\\n', peer.port, peer.address));
  socket.bind(Number(port), '::', () => console.log('ready'));
}`;

const clientSource = `
const [proto, host, port] = process.argv.slice(1);
const timer = setTimeout(() => { console.error('timeout'); process.exit(2); }, 3000);
if (proto === 'tcp') {
  let data = '';
  const socket = require('node:net').connect({ host, port: Number(port) });
  socket.on('data', (chunk) => { data += chunk; });
  socket.on('end', () => { clearTimeout(timer); process.stdout.write(data); });
  socket.on('error', (error) => { console.error(error.message); process.exit(1); });
} else {
  const socket = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (message) => { clearTimeout(timer); process.stdout.write(String(message)); socket.close(); });
  socket.send('hello', Number(port), host);
}`;

/** Starts a server in the netns answering each TCP connection or UDP datagram with the client's address. */
export async function startServer(t: Teardown, ns: Netns, proto: 'tcp' | 'udp', port: number): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${ns.path}`, process.execPath, '-e', serverSource, proto, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => { if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server ${proto}/${port} in ${ns.name} did not start in 10 s`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (String(chunk).includes('ready')) { clearTimeout(timer); resolve(); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server in ${ns.name} exited with ${code}`)); });
  });
  return child;
}

/** Connects from the netns; the address the server saw, or undefined when nothing answered within 3 s. */
export function askServer(ns: Netns, proto: 'tcp' | 'udp', host: string, port: number): string | undefined {
  const result = spawnSync('nsenter', [`--net=${ns.path}`, process.execPath, '-e', clientSource, proto, host, String(port)], {
    encoding: 'utf8', timeout: 10_000,
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}
