import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { KvClientConfig } from './kv-client-main.js';
import { cleanEnv, kvClientScript } from './paths.js';
import type { CasOutcome, GetOutcome } from './recorded-kv.js';
import type { WorkloadOptions, WorkloadSummary } from './workload.js';

/** Drives a kv-client-main process in a network namespace over JSON lines. */
export class KvClientProcess {
  readonly config: KvClientConfig;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  readonly #ready: Promise<void>;
  readonly #exit: Promise<number | null>;
  #nextId = 1;
  #stderr = '';

  private constructor(netnsPath: string, config: KvClientConfig) {
    this.config = config;
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', '/usr/bin/env', '-u', 'NODE_OPTIONS', process.execPath, kvClientScript(), JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv({ BERTH_LOG_LEVEL: 'error' }),
    });
    this.#child = child;
    this.#exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.on('data', (chunk: Buffer) => { if (this.#stderr.length < 20_000) this.#stderr += chunk.toString(); });
    let readyResolve: () => void = () => undefined;
    this.#ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      void this.#exit.then((code) => reject(new Error(`kv client ${config.clientId} exited (${code}): ${this.#stderr.slice(0, 2000)}`)));
    });
    this.#ready.catch(() => undefined);
    void (async () => {
      for await (const line of createInterface({ input: child.stdout! })) {
        const answer = JSON.parse(line) as Record<string, unknown>;
        if (answer['ready'] === true) readyResolve();
        const id = answer['id'];
        if (typeof id === 'number') {
          this.#waiting.get(id)?.(answer);
          this.#waiting.delete(id);
        }
      }
    })();
  }

  static async start(netnsPath: string, config: KvClientConfig): Promise<KvClientProcess> {
    const client = new KvClientProcess(netnsPath, config);
    await client.#ready;
    return client;
  }

  #call(command: Record<string, unknown>): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, (answer) => (typeof answer['error'] === 'string' ? reject(new Error(answer['error'])) : resolve(answer['result'])));
      void this.#exit.then((code) => reject(new Error(`kv client ${this.config.clientId} exited (${code}) during a call: ${this.#stderr.slice(0, 2000)}`)));
      this.#child.stdin?.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  }

  put(key: string, value: string): Promise<'ok' | 'unknown'> { return this.#call({ op: 'put', key, value }) as Promise<'ok' | 'unknown'>; }
  get(key: string): Promise<GetOutcome> { return this.#call({ op: 'get', key }) as Promise<GetOutcome>; }
  cas(key: string, expected: string | null, value: string): Promise<CasOutcome> { return this.#call({ op: 'cas', key, expected, value }) as Promise<CasOutcome>; }
  workload(options: Omit<WorkloadOptions, 'clientId'>): Promise<WorkloadSummary> { return this.#call({ op: 'workload', ...options }) as Promise<WorkloadSummary>; }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    await this.#call({ op: 'close' }).catch(() => undefined);
    await Promise.race([this.#exit, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    this.kill();
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
