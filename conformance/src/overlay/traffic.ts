/**
 * Traffic for the overlay scenarios, only ever between namespaces the test made: a bulk TCP transfer checked end to
 * end by length and SHA-256, a long-lived connection to show a change elsewhere does not cut it, and tcpdump
 * captures on the underlay. Every process is bounded in time and killed in teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TeardownRegistry, TestNetns } from '../harness/index.js';

export const processStartMsMax = 10_000;

function startNode(registry: TeardownRegistry, netns: TestNetns, source: string, args: readonly string[], stdin: 'pipe' | 'ignore' = 'ignore'): ChildProcess {
  const child = spawn('nsenter', [`--net=${netns.path}`, '--', process.execPath, '-e', source, ...args], { stdio: [stdin, 'pipe', 'pipe'] });
  registry.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return child;
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = processStartMsMax): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    const timer = setTimeout(() => { lines.close(); reject(new Error(`${what}: nothing matching ${pattern} within ${timeoutMs} ms`)); }, timeoutMs);
    lines.on('line', (line) => {
      if (!pattern.test(line)) return;
      clearTimeout(timer);
      lines.close();
      resolve(line);
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${what}: exited with ${code}`)); });
  });
}

const sinkSource = `
const { createHash } = require('node:crypto');
require('node:net').createServer((socket) => {
  const hash = createHash('sha256'); let bytes = 0;
  socket.on('data', (chunk) => { bytes += chunk.length; hash.update(chunk); });
  socket.on('end', () => socket.end(bytes + ' ' + hash.digest('hex') + '\\n'));
}).listen(Number(process.argv[1]), '0.0.0.0', () => console.log('ready'));`;

const sendSource = `
const { createHash } = require('node:crypto');
const [host, port, total] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const timer = setTimeout(() => { console.error('timeout'); process.exit(2); }, 60000);
const hash = createHash('sha256');
const block = Buffer.alloc(65536); for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 255;
let sent = 0; let reply = '';
const socket = require('node:net').connect({ host, port }, () => {
  const pump = () => { while (sent < total) { const n = Math.min(block.length, total - sent); const part = block.subarray(0, n); hash.update(part); sent += n; if (!socket.write(part)) return socket.once('drain', pump); } socket.end(); };
  pump();
});
socket.on('data', (chunk) => { reply += chunk; });
socket.on('end', () => { clearTimeout(timer); console.log(sent + ' ' + hash.digest('hex') + ' ' + reply.trim()); });
socket.on('error', (error) => { console.error(error.message); process.exit(1); });`;

export interface TransferOutcome {
  readonly sentBytes: number;
  readonly receivedBytes: number;
  /** The sender's and the receiver's digests agree and every byte arrived. */
  readonly intact: boolean;
}

/** Sends `bytes` over one TCP connection from `from` to a sink in `to`, which answers with what it received. */
export async function bulkTransfer(registry: TeardownRegistry, from: TestNetns, to: TestNetns, address: string, port: number, bytes: number): Promise<TransferOutcome> {
  const sink = startNode(registry, to, sinkSource, [String(port)]);
  await waitForLine(sink, /^ready$/, `sink in ${to.name}`);
  const sender = startNode(registry, from, sendSource, [address, String(port), String(bytes)]);
  const line = await waitForLine(sender, /^\d+ [0-9a-f]{64} \d+ [0-9a-f]{64}$/, `transfer ${from.name} → ${address}:${port}`, 60_000);
  sink.kill('SIGKILL');
  const [sent, sentHash, received, receivedHash] = line.split(' ');
  return { sentBytes: Number(sent), receivedBytes: Number(received), intact: sent === received && sentHash === receivedHash };
}

const echoSource = `
let next = 1;
require('node:net').createServer((socket) => {
  const id = next++; let buffer = '';
  socket.on('data', (chunk) => { buffer += chunk; let index; while ((index = buffer.indexOf('\\n')) >= 0) { socket.write(id + ' ' + buffer.slice(0, index) + '\\n'); buffer = buffer.slice(index + 1); } });
  socket.on('error', () => undefined);
}).listen(Number(process.argv[1]), '0.0.0.0', () => console.log('ready'));`;

const connectionSource = `
const socket = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
const timer = setTimeout(() => process.exit(2), 120000);
socket.on('data', (chunk) => process.stdout.write(chunk));
socket.on('error', (error) => { console.log('error ' + error.message); process.exit(1); });
socket.on('close', () => { clearTimeout(timer); process.exit(0); });
process.stdin.on('data', (chunk) => socket.write(chunk));
process.stdin.on('end', () => socket.end());`;

/** One TCP connection kept open: `say` sends a line and resolves with "<connection id> <line>" as echoed. */
export interface LongConnection {
  say(line: string): Promise<string>;
  close(): void;
}

export async function openLongConnection(registry: TeardownRegistry, from: TestNetns, to: TestNetns, address: string, port: number): Promise<LongConnection> {
  const server = startNode(registry, to, echoSource, [String(port)]);
  await waitForLine(server, /^ready$/, `echo server in ${to.name}`);
  const client = startNode(registry, from, connectionSource, [address, String(port)], 'pipe');
  return {
    say: (line) => {
      const answer = waitForLine(client, new RegExp(`^\\d+ ${line}$`), `echo of ${line}`, 5_000);
      client.stdin?.write(`${line}\n`);
      return answer;
    },
    close: () => { client.stdin?.end(); },
  };
}

/** A running tcpdump; `done` resolves with its decoded output (-nn -v) when it has `count` packets or times out. */
export interface Capture { readonly done: Promise<string> }

export async function startCapture(registry: TeardownRegistry, netns: TestNetns, options: {
  readonly iface: string; readonly filter: string; readonly count: number; readonly seconds: number; readonly decodeVxlan?: boolean;
}): Promise<Capture> {
  const args = ['timeout', String(options.seconds), 'tcpdump', '-i', options.iface, '-nn', '-v', '-l', '-c', String(options.count),
    ...(options.decodeVxlan === true ? ['-T', 'vxlan'] : []), options.filter];
  const child = spawn('nsenter', [`--net=${netns.path}`, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  registry.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
  const done = new Promise<string>((resolve) => child.on('close', () => resolve(output)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump in ${netns.name} did not start within ${processStartMsMax} ms`)), processStartMsMax);
    child.stderr.on('data', (chunk: Buffer) => { if (chunk.toString('utf8').includes('listening on')) { clearTimeout(timer); resolve(); } });
    child.on('close', (code) => { clearTimeout(timer); reject(new Error(`tcpdump in ${netns.name} exited with ${code} before listening`)); });
  });
  return { done };
}

/** The packets of a -v capture: each starts at a line beginning with a timestamp. */
export function capturedPackets(output: string): string[] {
  return output.split(/\n(?=\d{2}:\d{2}:\d{2}\.\d+ )/).map((packet) => packet.trim()).filter((packet) => packet !== '');
}
