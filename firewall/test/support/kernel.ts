/**
 * Kernel fixtures for firewall tests: a test "host" namespace with a bridge and "pod" namespaces on it, all
 * uniquely named `bt-…` and removed in teardown; and a probe agent (a Node process per pod namespace) that
 * serves TCP and UDP ports and runs connection probes on request, so many probes run in parallel without a
 * process per probe. Tests may use `ip` and `nsenter`; product code never does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function sh(argv: readonly string[]): Promise<string> {
  const [file, ...args] = argv;
  const { stdout } = await run(file as string, args, { timeout: 20_000 });
  return stdout;
}

export function uniqueName(prefix: string): string {
  return `bt-${prefix}-${randomBytes(3).toString('hex')}`;
}

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function createNetns(t: Teardown, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await sh(['ip', 'netns', 'add', name]);
  t.teardown(async () => {
    await sh(['ip', 'netns', 'del', name]).catch(() => undefined);
  });
  await sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

// The agent: serves TCP and UDP (answering "ok") on the given ports; reads probe requests as JSON lines on stdin
// and answers each with {id, ok}. Bounded: every probe has a timeout, the process exits when stdin closes.
const agentSource = String.raw`
import net from 'node:net'; import dgram from 'node:dgram'; import readline from 'node:readline';
const ports = JSON.parse(process.argv[1]);
for (const port of ports) {
  net.createServer((s) => { s.on('error', () => {}); s.end('ok'); }).listen(port, '0.0.0.0');
  const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send('ok', r.port, r.address)); u.bind(port, '0.0.0.0');
}
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
});
setTimeout(() => process.stdout.write('ready\n'), 100);
`;

export class ProbeAgent {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (ok: boolean) => void>();
  #nextId = 1;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  static async start(t: Teardown, netns: string, ports: readonly number[]): Promise<ProbeAgent> {
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, '--input-type=module', '-e', agentSource, JSON.stringify(ports)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const agent = new ProbeAgent(child);
    t.teardown(() => agent.stop());
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe agent in ${netns} did not start`)), 10_000);
      lines.on('line', (line) => {
        if (line === 'ready') { clearTimeout(timer); resolve(); return; }
        const { id, ok } = JSON.parse(line) as { id: number; ok: boolean };
        agent.#pending.get(id)?.(ok);
        agent.#pending.delete(id);
      });
    });
    return agent;
  }

  probe(host: string, port: number, protocol: 'tcp' | 'udp', timeoutMs = 800): Promise<boolean> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.stdin?.write(`${JSON.stringify({ id, host, port, protocol, timeoutMs })}\n`);
    });
  }

  stop(): void {
    if (this.#child.exitCode === null && this.#child.pid !== undefined) this.#child.kill('SIGTERM');
  }
}

export interface Pod {
  readonly netns: string;
  readonly ip: string;
  readonly hostInterface: string;
}

/** A bridge in `host` and one namespace per pod on it, addresses 10.NN.0.(index+2)/24. */
export async function bridgeWithPods(t: Teardown, host: string, count: number, subnet = 77): Promise<Pod[]> {
  await sh(['ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge']);
  await sh(['ip', '-n', host, 'link', 'set', 'br0', 'up']);
  const pods: Pod[] = [];
  for (let index = 0; index < count; index += 1) {
    const netns = await createNetns(t, `pod${index}`);
    const hostInterface = `veth${index}`;
    await sh(['ip', '-n', host, 'link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await sh(['ip', '-n', host, 'link', 'set', hostInterface, 'master', 'br0', 'up']);
    const ip = `10.${subnet}.0.${index + 2}`;
    await sh(['ip', '-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await sh(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    pods.push({ netns, ip, hostInterface });
  }
  return pods;
}
