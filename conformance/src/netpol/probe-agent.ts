/**
 * A probe agent: one Node process per pod namespace that serves TCP and UDP ports (answering "ok") and runs
 * connection probes on request (JSON lines on stdin, answers on stdout). Many probes run in parallel with no
 * process per probe. Every probe has a timeout; the agent exits when its stdin closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TeardownRegistry } from '../harness/index.js';

const agentSource = String.raw`
import net from 'node:net'; import dgram from 'node:dgram'; import readline from 'node:readline';
const ports = JSON.parse(process.argv[1]);
let listening = 0;
const started = () => { listening += 1; if (listening === ports.length * 2) process.stdout.write('ready\n'); };
for (const port of ports) {
  net.createServer((s) => { s.on('error', () => {}); s.end('ok'); }).listen(port, '0.0.0.0', started);
  const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send('ok', r.port, r.address)); u.bind(port, '0.0.0.0', started);
}
if (ports.length === 0) process.stdout.write('ready\n');
const answer = (id, ok) => process.stdout.write(JSON.stringify({ id, ok }) + '\n');
function tcp(id, host, port, ms) {
  const s = net.connect({ host, port }); let done = false; let data = '';
  const end = (ok) => { if (done) return; done = true; clearTimeout(timer); s.destroy(); answer(id, ok); };
  const timer = setTimeout(() => end(false), ms);
  s.on('data', (d) => { data += d; if (data === 'ok') end(true); }); s.on('error', () => end(false)); s.on('close', () => end(data === 'ok'));
}
function udp(id, host, port, ms) {
  const s = dgram.createSocket('udp4'); let done = false;
  const end = (ok) => { if (done) return; done = true; clearTimeout(timer); s.close(); answer(id, ok); };
  const timer = setTimeout(() => end(false), ms);
  s.on('message', (m) => end(String(m) === 'ok')); s.on('error', () => end(false)); s.send('probe', port, host);
}
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const r = JSON.parse(line); (r.protocol === 'udp' ? udp : tcp)(r.id, r.host, r.port, r.timeoutMs);
}).on('close', () => process.exit(0));
`;

const startTimeoutMs = 10_000;

export class ProbeAgent {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (ok: boolean) => void>();
  #nextId = 1;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Starts an agent in the namespace at `netnsPath`, serving `ports` on TCP and UDP. */
  static async start(registry: TeardownRegistry, netnsPath: string, ports: readonly number[]): Promise<ProbeAgent> {
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '--input-type=module', '-e', agentSource, JSON.stringify(ports)],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    const agent = new ProbeAgent(child);
    registry.teardown(() => agent.stop());
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe agent in ${netnsPath} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
      child.on('exit', (code) => reject(new Error(`probe agent in ${netnsPath} exited with ${code}`)));
      lines.on('line', (line) => {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve();
          return;
        }
        const { id, ok } = JSON.parse(line) as { id: number; ok: boolean };
        agent.#pending.get(id)?.(ok);
        agent.#pending.delete(id);
      });
    });
    return agent;
  }

  /** Whether a connection (TCP) or a request/answer (UDP) to host:port completes within `timeoutMs`. */
  probe(host: string, port: number, protocol: 'tcp' | 'udp', timeoutMs: number): Promise<boolean> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.stdin?.write(`${JSON.stringify({ id, host, port, protocol, timeoutMs })}\n`);
    });
  }

  stop(): void {
    this.#child.stdin?.end();
    if (this.#child.exitCode === null && this.#child.pid !== undefined) this.#child.kill('SIGTERM');
  }
}
