/**
 * The OCI runtime `berth run` drives: the binary is `--runtime PATH`, else $BERTH_RUNTIME, else berth-runtime next to
 * the CLI when it is installed, else runc. Berth's own berth-runtime runs embedded in the CLI's process, with Berth's
 * hooks run in-process too (no Node start for the runtime or a hook stage); any other is exec'd through runc's CLI
 * (the contract berth-runtime shares with runc).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { berthHooksInProcess } from '../hooks/in-process.js';
import { berthHookPath } from '../hooks/oci-hooks.js';
import { EmbeddedRuntime } from '../runtime/embedded.js';

const installedBerthRuntime = join(berthHookPath, '..', 'berth-runtime');

export function defaultRuntime(env: NodeJS.ProcessEnv): string {
  const configured = env['BERTH_RUNTIME'];
  if (configured !== undefined && configured !== '') return configured;
  return existsSync(installedBerthRuntime) ? installedBerthRuntime : 'runc';
}

export function isInstalledBerthRuntime(binary: string): boolean {
  try {
    return realpathSync(binary) === realpathSync(installedBerthRuntime);
  } catch {
    return false;
  }
}

/** The runtime of a container: embedded when it is the installed berth-runtime, else its executable. */
export function containerRuntime(binary: string, root: string): EmbeddedRuntime | RuntimeCli {
  return isInstalledBerthRuntime(binary) ? new EmbeddedRuntime(root, berthHooksInProcess()) : new RuntimeCli(binary, root);
}

export interface RuntimeResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const runtimeCallTimeoutMs = 30_000;

export class RuntimeCli {
  readonly binary: string;
  readonly root: string;

  constructor(binary: string, root: string) {
    this.binary = binary;
    this.root = root;
  }

  argv(args: readonly string[]): string[] {
    return ['--root', this.root, ...args];
  }

  /** A short call (state, kill, delete, list): output captured, bounded in time. */
  call(args: readonly string[]): Promise<RuntimeResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, this.argv(args), { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), runtimeCallTimeoutMs);
      child.on('error', (error) => { clearTimeout(timer); reject(new Error(`Cannot run the OCI runtime ${this.binary}: ${error.message}`)); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal === null ? 1 : 128), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
    });
  }

  /** `delete --force`; what it says is not read (the caller checks what is left). */
  async forceDelete(id: string): Promise<void> {
    await this.call(['delete', '--force', id]);
  }

  /** The runtime's `state` status (created, running, stopped, paused), or undefined when it knows no such container. */
  async status(id: string): Promise<string | undefined> {
    const result = await this.call(['state', id]);
    if (result.code !== 0) return undefined;
    try {
      return String((JSON.parse(result.stdout) as { status?: unknown }).status);
    } catch {
      return undefined;
    }
  }

  /** A long-running call with the given stdio (`run`, `exec`): resolves with its exit code (128+n for a signal). */
  attached(args: readonly string[], stdio: StdioOptions): { done: Promise<number>; kill: (signal: NodeJS.Signals) => void; stderr: Readable | null } {
    const child = spawn(this.binary, this.argv(args), { stdio });
    const done = new Promise<number>((resolve, reject) => {
      child.on('error', (error) => reject(new Error(`Cannot run the OCI runtime ${this.binary}: ${error.message}`)));
      child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + constants.signals[signal])));
    });
    return { done, kill: (signal) => { child.kill(signal); }, stderr: child.stderr };
  }
}
