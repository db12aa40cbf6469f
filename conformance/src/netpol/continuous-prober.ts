/**
 * A prober that runs on its own: one Node process in a pod namespace opening a new TCP connection to each target
 * every few milliseconds (each with a timeout; a connection counts as passed when the target answers "ok", as
 * the probe agent's servers do) and counting the outcomes. It must not depend on the test's event loop, which
 * may be busy applying firewall updates: a window nobody probes proves nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TeardownRegistry } from '../harness/index.js';

export interface ProbeTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface ProbeCounts {
  readonly attempts: number;
  readonly passed: number;
  readonly failed: number;
}

const proberSource = String.raw`
import net from 'node:net'; import readline from 'node:readline';
const [targets, everyMs, timeoutMs] = [JSON.parse(process.argv[1]), Number(process.argv[2]), Number(process.argv[3])];
const counts = Object.fromEntries(targets.map((target) => [target.name, { attempts: 0, passed: 0, failed: 0 }]));
let running = true;
function probe(target) {
  const count = counts[target.name]; count.attempts += 1;
  const s = net.connect({ host: target.host, port: target.port }); let done = false; let data = '';
  const end = (ok) => { if (done) return; done = true; clearTimeout(timer); s.destroy(); if (ok) count.passed += 1; else count.failed += 1; };
  const timer = setTimeout(() => end(false), timeoutMs);
  s.on('data', (d) => { data += d; if (data === 'ok') end(true); }); s.on('error', () => end(false)); s.on('close', () => end(data === 'ok'));
}
const timer = setInterval(() => { if (running) for (const target of targets) probe(target); }, everyMs);
process.stdout.write('ready\n');
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stop') { running = false; clearInterval(timer); setTimeout(() => process.stdout.write(JSON.stringify(counts) + '\n'), timeoutMs + 50); }
}).on('close', () => process.exit(0));
`;

const startTimeoutMs = 10_000;

export class ContinuousProber {
  readonly #child: ChildProcess;
  readonly #lines: ReturnType<typeof createInterface>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  }

  /** Starts probing every `everyMs` from the namespace at `netnsPath`; resolves once it runs. */
  static async start(registry: TeardownRegistry, netnsPath: string, targets: readonly ProbeTarget[], options: { everyMs: number; timeoutMs: number }): Promise<ContinuousProber> {
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '--input-type=module', '-e', proberSource, JSON.stringify(targets),
      String(options.everyMs), String(options.timeoutMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const prober = new ContinuousProber(child);
    registry.teardown(() => prober.#kill());
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`prober in ${netnsPath} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
      prober.#lines.once('line', () => { clearTimeout(timer); resolve(); });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`prober in ${netnsPath} exited with ${code}`)); });
    });
    return prober;
  }

  /** Stops probing, waits for the probes in flight, and returns the counts per target name. */
  async stop(): Promise<Record<string, ProbeCounts>> {
    const counts = new Promise<Record<string, ProbeCounts>>((resolve) => this.#lines.once('line', (line) => resolve(JSON.parse(line) as Record<string, ProbeCounts>)));
    this.#child.stdin?.write('stop\n');
    const result = await counts;
    this.#kill();
    return result;
  }

  #kill(): void {
    this.#child.stdin?.end();
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
  }
}
