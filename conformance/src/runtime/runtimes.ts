import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execCommand, type ExecResult } from '../harness/exec.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** berth-runtime's executable in this checkout. */
export const berthRuntimePath = fileURLToPath(new URL(
  import.meta.url.includes('/dist/src/') ? '../../../../runtime-hooks/bin/berth-runtime' : '../../../runtime-hooks/bin/berth-runtime', import.meta.url));

/**
 * Runtimes are exec'd as engines exec them, with a clean environment: through `env -i`, because tap's process-info
 * hook adds NODE_OPTIONS to every child it sees spawned. The marker must never reach a hook or a container.
 */
export const cleanEnv: readonly string[] = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'BERTH_TEST_MARKER=1'];

export function withCleanEnv(argv: readonly string[]): string[] {
  return ['env', '-i', ...cleanEnv, ...argv];
}

/** A runtime with runc's command line, with its own state root for the suite. */
export class RuntimeUnderTest {
  readonly name: string;
  readonly binary: string;
  readonly root: string;

  constructor(name: string, binary: string, root: string) {
    this.name = name;
    this.binary = binary;
    this.root = root;
  }

  argv(args: readonly string[]): string[] {
    return withCleanEnv([this.binary, '--root', this.root, ...args]);
  }

  /** Runs a command whose stdio the container does not keep (state, kill, delete, foreground run…). */
  run(args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    return execCommand(this.argv(args), { timeoutMs: options.timeoutMs ?? 20_000, ...(options.input !== undefined ? { input: options.input } : {}) });
  }

  /**
   * Runs create (or run -d): the container inherits the runtime's stdio, so it goes to files, never to a pipe we
   * would wait on. Returns the runtime's exit code and stderr; the container's output lands in `outputFile`.
   */
  async detached(args: readonly string[], outputFile: string, errorFile = `${outputFile}.err`): Promise<{ code: number; stderr: string }> {
    const output = openSync(outputFile, 'a');
    const errors = openSync(errorFile, 'a');
    try {
      const [file, ...rest] = this.argv(args);
      const child = spawn(file as string, rest, { stdio: ['ignore', output, errors] });
      const code = await new Promise<number>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('exit', (exitCode, signal) => {
          clearTimeout(timer);
          resolve(exitCode ?? (signal === null ? 1 : 128));
        });
        child.on('error', () => resolve(127));
      });
      return { code, stderr: readFileSync(errorFile, 'utf8') };
    } finally {
      closeSync(output);
      closeSync(errors);
    }
  }

  async status(id: string): Promise<string | undefined> {
    const result = await this.run(['state', id]);
    if (result.code !== 0) return undefined;
    return (JSON.parse(result.stdout) as { status: string }).status;
  }

  /** Polls `state` until the container reaches `status` (bounded); returns the last status seen. */
  async waitForStatus(id: string, status: string, timeoutMs = 5_000): Promise<string | undefined> {
    let last: string | undefined;
    for (const started = Date.now(); Date.now() - started < timeoutMs;) {
      last = await this.status(id);
      if (last === status) return last;
      await sleep(20);
    }
    return last;
  }
}
