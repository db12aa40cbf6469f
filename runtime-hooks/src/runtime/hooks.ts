import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { RuntimeError } from './errors.js';
import type { Hook, HookKind } from './spec.js';

/** The state JSON the runtime-spec passes on a hook's stdin. */
export interface HookState {
  readonly ociVersion: string;
  readonly id: string;
  readonly status: string;
  readonly pid?: number;
  readonly bundle: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export function hookStateJson(state: HookState): string {
  const { annotations, ...rest } = state;
  return JSON.stringify(annotations !== undefined && Object.keys(annotations).length > 0 ? { ...rest, annotations } : rest);
}

/**
 * A caller that embeds the runtime may run some hooks itself, in its own process, instead of having them exec'd:
 * given a hook, it returns the function that does that hook's work with the state JSON (rejecting with the one-line
 * reason the hook would have printed), or undefined to have the hook exec'd as usual.
 */
export type InProcessHooks = (hook: Hook, kind: HookKind) => ((stateJson: string) => Promise<void>) | undefined;

/** True when the embedding caller runs every one of these hooks itself (none are exec'd). */
export function allInProcess(hooks: readonly Hook[], kind: HookKind, inProcess: InProcessHooks | undefined): boolean {
  return inProcess !== undefined && hooks.length > 0 && hooks.every((hook) => inProcess(hook, kind) !== undefined);
}

const outputBytesMax = 64 * 1024;

/** A hook's `env` (K=V entries) as an object; the first `=` splits. */
export function envObject(env: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const entry of env) {
    const split = entry.indexOf('=');
    if (split > 0) result[entry.slice(0, split)] = entry.slice(split + 1);
  }
  return result;
}

/**
 * Runs one hook as runc does: exactly the hook's args and env, the state on stdin, stdout/stderr captured for the
 * error, killed at its timeout. Settles when the hook has exited and its output is read, or shortly after it exited
 * when its pipes stay open (a hook that leaves a daemon behind holding them does not hang the runtime).
 */
function runHook(hook: Hook, stateJson: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const [argv0, ...args] = hook.args.length > 0 ? hook.args : [hook.path];
    const child = spawn(hook.path, args, { argv0: argv0 ?? hook.path, env: envObject(hook.env), cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk: Buffer) => { output = { ...output, stdout: (output.stdout + chunk.toString()).slice(-outputBytesMax) }; });
    child.stderr.on('data', (chunk: Buffer) => { output = { ...output, stderr: (output.stderr + chunk.toString()).slice(-outputBytesMax) }; });
    child.stdin.on('error', () => undefined); // a hook may exit without reading its stdin
    child.stdin.end(stateJson);
    let timedOut = false;
    const timer = hook.timeoutSeconds === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, hook.timeoutSeconds * 1000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`error running hook: ${error.message}`));
    });
    child.on('exit', (code, signal) => void drained([child.stdout, child.stderr]).then(() => {
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      if (timedOut) reject(new Error(`hook ran past specified timeout of ${(hook.timeoutSeconds ?? 0).toFixed(1)}s`));
      else if (code === 0) resolve();
      else {
        const status = signal !== null ? `signal: ${signal === 'SIGKILL' ? 'killed' : signal}` : `exit status ${code}`;
        reject(new Error(`error running hook: ${status}, stdout: ${output.stdout}, stderr: ${output.stderr}`));
      }
    }));
  });
}

/** How long, after a hook exits, its output may still take to be read from the pipes. */
const outputDrainMs = 200;

/**
 * Resolves once both output pipes have ended — what the hook wrote before exiting can still be unread when its exit
 * is seen — or after outputDrainMs, when something the hook left behind keeps them open.
 */
function drained(streams: readonly Readable[]): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, outputDrainMs);
    const ends = streams.map((stream) => (stream.readableEnded || stream.destroyed ? Promise.resolve() : new Promise<void>((done) => stream.once('end', done).once('close', done))));
    void Promise.all(ends).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Runs a stage's hooks in order, in `cwd` (the bundle; / once an engine has removed it, so poststop still runs); the
 * first failure stops the stage with runc's message. Those `inProcess` takes are run by the caller, not exec'd.
 */
export async function runHooks(kind: HookKind, hooks: readonly Hook[], state: HookState, cwd: string, inProcess?: InProcessHooks): Promise<void> {
  if (hooks.length > 0 && !existsSync(cwd)) cwd = '/';
  for (const [index, hook] of hooks.entries()) {
    try {
      const run = inProcess?.(hook, kind);
      await (run === undefined ? runHook(hook, hookStateJson(state), cwd) : run(hookStateJson(state)));
    } catch (error) {
      throw new RuntimeError(`error running ${kind} hook #${index}: ${(error as Error).message}`);
    }
  }
}
