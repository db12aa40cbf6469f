import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AttackerConfig, Attempt, AttemptResult } from './attacker-main.js';
import { cleanEnv, repoRoot } from './paths.js';

export type { Attempt, AttemptResult };

/** Drives an attacker-main process in a network namespace: one batch of attempts at a time. */
export class AttackerProcess {
  readonly #child: ChildProcess;
  readonly #answers: Array<(line: string) => void> = [];
  readonly #exit: Promise<number | null>;
  #stderr = '';
  #nextId = 1;

  private constructor(netnsPath: string, config: AttackerConfig) {
    const script = join(repoRoot(), 'conformance', 'dist', 'src', 'cluster', 'attacker-main.js');
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', '/usr/bin/env', '-u', 'NODE_OPTIONS', process.execPath, script, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv({ BERTH_LOG_LEVEL: 'error' }),
    });
    this.#child = child;
    this.#exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.on('data', (chunk: Buffer) => { if (this.#stderr.length < 20_000) this.#stderr += chunk.toString(); });
    void (async () => {
      for await (const line of createInterface({ input: child.stdout! })) this.#answers.shift()?.(line);
    })();
  }

  static async start(netnsPath: string, config: AttackerConfig): Promise<AttackerProcess> {
    const attacker = new AttackerProcess(netnsPath, config);
    await attacker.#next();
    return attacker;
  }

  #next(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#answers.push(resolve);
      void this.#exit.then((code) => reject(new Error(`attacker exited (${code}): ${this.#stderr.slice(0, 2000)}`)));
    });
  }

  async attempt(attempts: readonly Attempt[]): Promise<Map<string, AttemptResult>> {
    const answer = this.#next();
    this.#child.stdin?.write(`${JSON.stringify({ id: this.#nextId++, attempts })}\n`);
    const { results } = JSON.parse(await answer) as { results: AttemptResult[] };
    return new Map(results.map((result) => [result.name, result]));
  }

  async close(): Promise<void> {
    this.#child.stdin?.end();
    await Promise.race([this.#exit, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
