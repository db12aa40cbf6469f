/**
 * An established connection that must keep carrying data while the firewall changes: an echo server in one pod and a
 * client in another sending a line every 10 ms, both in their own processes; `stats()` reports the echoes so far and
 * the longest silence.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TeardownRegistry } from '../harness/index.js';

export interface EstablishedFlow {
  stats(): { echoes: number; gapMsMax: number };
}

/** Starts the echo server, then the client once the server listens. */
export function establishedFlow(registry: TeardownRegistry, clientNetns: string, server: { ip: string; netnsPath: string }, echoPort: number): EstablishedFlow {
  const serverSource = `require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(${echoPort}, () => console.log('ready'));`;
  const clientSource = String.raw`
    const s = require('net').connect(${echoPort}, '${server.ip}'); let echoes = 0; let last = Date.now(); let gap = 0;
    s.on('data', (d) => { const now = Date.now(); gap = Math.max(gap, now - last); last = now; echoes += d.toString().split('\n').length - 1; });
    s.on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
    setInterval(() => s.write('ping\n'), 10);
    setInterval(() => { console.log(JSON.stringify({ echoes, gap: Math.max(gap, Date.now() - last) })); }, 50);`;
  const children = [
    spawn('nsenter', [`--net=${server.netnsPath}`, '--', process.execPath, '-e', serverSource], { stdio: ['ignore', 'pipe', 'inherit'] }),
  ];
  let latest = { echoes: 0, gap: 0 };
  const started = new Promise<void>((resolve) => {
    createInterface({ input: children[0]?.stdout as NodeJS.ReadableStream }).once('line', () => {
      const flow = spawn('nsenter', [`--net=${clientNetns}`, '--', process.execPath, '-e', clientSource], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(flow);
      createInterface({ input: flow.stdout }).on('line', (line) => { latest = JSON.parse(line) as typeof latest; });
      resolve();
    });
  });
  registry.teardown(() => children.forEach((child) => { if (child.exitCode === null) child.kill(); }));
  void started;
  return { stats: () => ({ echoes: latest.echoes, gapMsMax: latest.gap }) };
}

