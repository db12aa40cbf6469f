import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCommand, Teardowns, TestHost, type ExecResult, type TeardownRegistry } from '../harness/index.js';

const repository = join(import.meta.dirname, '..', '..', '..', '..');

/** The demo's world: one host netns, a private BERTH_ROOT and CNI config dir, and the cleanup of all of it. */
export class DemoStage implements TeardownRegistry {
  readonly #teardowns = new Teardowns();
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  host!: TestHost;
  readonly berthdPath = join(repository, 'runtime-hooks', 'bin', 'berthd.js');

  private constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'bt-demo-'));
    this.env = { ...process.env, BERTH_ROOT: this.root, BERTH_CNI_CONF_DIR: join(this.root, 'net.d') };
  }

  static async open(): Promise<DemoStage> {
    const stage = new DemoStage();
    stage.teardown(() => rmSync(stage.root, { recursive: true, force: true }));
    stage.host = await TestHost.create(stage, 'demo');
    return stage;
  }

  teardown(fn: () => unknown): void {
    this.#teardowns.teardown(fn);
  }

  async close(): Promise<void> {
    for (const failure of await this.#teardowns.run()) process.stdout.write(`cleanup: ${failure}\n`);
  }

  /** Prints an act's title. */
  act(title: string): void {
    process.stdout.write(`\n== ${title}\n`);
  }

  /** Runs the berth CLI inside the host netns, shows the command and its output, and fails the demo on error. */
  async berth(...args: string[]): Promise<string> {
    process.stdout.write(`$ berth ${args.join(' ')}\n`);
    const result = await this.inHost([process.execPath, join(repository, 'runtime-hooks', 'bin', 'berth.js'), ...args]);
    process.stdout.write(indent(result.stdout));
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  inHost(argv: readonly string[]): Promise<ExecResult> {
    return execCommand(['nsenter', `--net=${this.host.path}`, '--', ...argv], { env: this.env });
  }

  /** States an expectation about what just happened; a false one fails the demo. */
  expect(condition: boolean, what: string): void {
    process.stdout.write(`  ${condition ? 'ok' : 'NOT OK'}: ${what}\n`);
    if (!condition) throw new Error(what);
  }
}

function indent(text: string): string {
  return text === '' ? '' : `${text.trimEnd().split('\n').map((line) => `  ${line}`).join('\n')}\n`;
}
