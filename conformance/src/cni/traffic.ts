import { spawn, type ChildProcess } from 'node:child_process';
import type { TeardownRegistry, TestHost, TestNetns } from '../harness/index.js';
import { outsideClientAddress, outsideHostAddress } from './context.js';

/**
 * A namespace outside the host, linked and routed to it: the host's end `bthout` is 192.0.2.1, the client's `eth0`
 * 192.0.2.2 with its default route through the host (where published ports are reached from).
 */
export async function addOutside(host: TestHost): Promise<TestNetns> {
  const outside = await host.addNetns('out');
  await host.execChecked(['ip', 'link', 'add', 'bthout', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside.path]);
  await host.execChecked(['ip', 'link', 'set', 'bthout', 'up']);
  await host.execChecked(['ip', 'addr', 'add', `${outsideHostAddress}/24`, 'dev', 'bthout']);
  await outside.execChecked(['ip', 'link', 'set', 'eth0', 'up']);
  await outside.execChecked(['ip', 'addr', 'add', `${outsideClientAddress}/24`, 'dev', 'eth0']);
  await outside.execChecked(['ip', 'route', 'add', 'default', 'via', outsideHostAddress]);
  return outside;
}

const serverSource = `
const port = Number(process.argv[1]);
const server = require('node:net').createServer((socket) => { socket.end(socket.remoteAddress.replace(/^::ffff:/, '') + '\\n'); });
server.listen({ port, host: '::', ipv6Only: false }, () => console.log('ready'));`;

const clientSource = `
const [host, port] = process.argv.slice(1);
const timer = setTimeout(() => process.exit(2), 3000);
let data = '';
const socket = require('node:net').connect({ host, port: Number(port) });
socket.on('data', (chunk) => { data += chunk; });
socket.on('end', () => { clearTimeout(timer); process.stdout.write(data); });
socket.on('error', () => process.exit(1));`;

export const serverStartMsMax = 10_000;

/** A TCP server in the netns that answers each connection with the address it saw the client come from. */
export async function startSourceEchoServer(registry: TeardownRegistry, netns: TestNetns, port: number): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${netns.path}`, '--', process.execPath, '-e', serverSource, String(port)], { stdio: ['ignore', 'pipe', 'ignore'] });
  registry.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server on port ${port} in ${netns.name} did not start within ${serverStartMsMax} ms`)), serverStartMsMax);
    child.stdout?.on('data', (chunk: Buffer) => { if (String(chunk).includes('ready')) { clearTimeout(timer); resolve(); } });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server in ${netns.name} exited with ${code}`)); });
  });
  return child;
}

/** Connects from the netns; the source address the server saw, or undefined when nothing answered within 3 s. */
export async function askSource(netns: TestNetns, host: string, port: number): Promise<string | undefined> {
  const result = await netns.exec([process.execPath, '-e', clientSource, host, String(port)], { timeoutMs: 10_000 });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

export async function pings(netns: TestNetns, address: string): Promise<boolean> {
  const result = await netns.exec(['ping', address.includes(':') ? '-6' : '-4', '-c1', '-W2', address], { timeoutMs: 10_000 });
  return result.code === 0;
}
