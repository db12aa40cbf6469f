import { performance } from 'node:perf_hooks';
import type { BerthdHost } from '../cluster/berthd-host.js';
import { Teardowns, type TeardownRegistry } from '../harness/index.js';
import { createClusterLab, type HooksLab } from '../hooks/lab.js';

export interface StepTiming {
  readonly title: string;
  readonly ms: number;
  readonly ok: boolean;
}

/**
 * The demo's world: a hooks lab with a real berthd (test host netns; temp BERTH_ROOT, BERTH_RUN_DIR, BERTH_SOCKET, CNI
 * config dir; a busybox rootfs), numbered timed steps, and the cleanup of all of it, run last first even on failure.
 */
export class DemoStage implements TeardownRegistry {
  readonly #teardowns = new Teardowns();
  readonly steps: StepTiming[] = [];
  #lab: HooksLab<BerthdHost> | undefined;
  #interruptedBy: string | undefined;

  get interruptedBy(): string | undefined {
    return this.#interruptedBy;
  }

  get hasLab(): boolean {
    return this.#lab !== undefined;
  }

  get lab(): HooksLab<BerthdHost> {
    if (this.#lab === undefined) throw new Error('the demo has no lab yet');
    return this.#lab;
  }

  teardown(fn: () => unknown): void {
    this.#teardowns.teardown(fn);
  }

  async openLab(): Promise<HooksLab<BerthdHost>> {
    this.#lab = await createClusterLab(this, 'demo');
    return this.#lab;
  }

  /** Runs all cleanup; returns what failed. */
  close(): Promise<string[]> {
    return this.#teardowns.run();
  }

  /**
   * Ctrl-C or SIGTERM: the step under way finishes (each is bounded), the next one is not started, so the cleanup
   * runs after the last command and sees everything it made. Stopping mid-command could leave a half-made container.
   */
  interrupt(signal: string): void {
    if (this.#interruptedBy === undefined) process.stdout.write(`\n${signal}: finishing this step, then cleaning up\n`);
    this.#interruptedBy ??= signal;
  }

  /** Runs one numbered step, printing its title first and its wall time after; `final` runs even when interrupted. */
  async step(title: string, body: () => Promise<void>, options: { final?: boolean } = {}): Promise<void> {
    if (this.#interruptedBy !== undefined && options.final !== true) throw new Error(`interrupted by ${this.#interruptedBy}`);
    process.stdout.write(`\n${this.steps.length + 1}. ${title}\n`);
    const started = performance.now();
    let ok = false;
    try {
      await body();
      ok = true;
    } finally {
      const ms = performance.now() - started;
      this.steps.push({ title, ms, ok });
      process.stdout.write(`   ${ok ? 'done' : 'FAILED'} in ${seconds(ms)}\n`);
    }
  }

  /** Prints a line of the current step. */
  say(text: string): void {
    process.stdout.write(indent(text));
  }

  /** Runs `berth ARGS` in the test host netns, shows the command and its output, and fails the step on error. */
  async berth(...args: string[]): Promise<string> {
    const result = await this.tryBerth(...args);
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** Like `berth`, but a non-zero exit is the caller's to judge. */
  async tryBerth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    this.say(`$ berth ${args.map((arg) => this.shorten(arg)).map(quote).join(' ')}`);
    const result = await this.lab.berth(args);
    this.output(result.stdout);
    if (result.code !== 0) this.output(result.stderr);
    return result;
  }

  /** Prints what a command wrote, under it. */
  output(text: string): void {
    if (text.trim() !== '') this.say(indent(this.shorten(text)));
  }

  /** States an expectation about what just happened; a false one fails the demo. */
  expect(condition: boolean, what: string): void {
    this.say(`${condition ? 'ok' : 'NOT OK'}: ${what}`);
    if (!condition) throw new Error(what);
  }

  /** The lab's temp dir as $DEMO in what is printed. */
  shorten(text: string): string {
    return this.#lab === undefined ? text : text.split(this.#lab.dir).join('$DEMO');
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./$-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function indent(text: string): string {
  return `${text.trimEnd().split('\n').map((line) => `   ${line}`).join('\n')}\n`;
}
