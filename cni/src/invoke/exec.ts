import { spawn } from 'node:child_process';
import { CniCode, CniError } from '../errors.js';
import type { CniCommand, CniEnvironment } from '../spec/env.js';
import { isJsonObject, type JsonObject } from '../spec/fields.js';

/** A plugin that runs longer than this is killed (SIGKILL) and the call fails. */
export const pluginTimeoutMsDefault = 120_000;
/** More stdout than this is not a CNI result. */
export const pluginStdoutBytesMax = 16 * 1024 * 1024;
/** ETXTBSY (the executable is still being written) is retried this many times, as the reference does. */
export const textBusyRetriesMax = 5;
const textBusyRetryMs = 200;

export interface ExecPluginOptions {
  readonly pluginPath: string;
  readonly command: CniCommand;
  /** The environment the plugin gets; CNI_COMMAND is set from `command`. */
  readonly env: CniEnvironment;
  readonly stdin: string;
  readonly timeoutMs?: number;
  /** Where the plugin's stderr goes: this process's stderr (as the spec asks of delegation) or a callback. */
  readonly stderr?: 'inherit' | ((text: string) => void);
}

export interface ExecPluginOutput {
  /** stdout, decoded; undefined when the plugin printed nothing. */
  readonly output: JsonObject | undefined;
  readonly stdout: string;
}

/** How a plugin call ended: its exit, what it printed, and whether it was killed for taking too long. */
export interface RawOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly timedOut: boolean;
}

function spawnOnce(options: ExecPluginOptions): Promise<RawOutcome> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  env['CNI_COMMAND'] = options.command;
  const stderrMode = options.stderr ?? 'inherit';
  return new Promise((resolve, reject) => {
    const child = spawn(options.pluginPath, [], { env, stdio: ['pipe', 'pipe', stderrMode === 'inherit' ? 'inherit' : 'pipe'] });
    const { stdin, stdout } = child;
    if (stdin === null || stdout === null) throw new Error('spawn gave no stdio pipes');
    const chunks: Buffer[] = [];
    let bytes = 0;
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, options.timeoutMs ?? pluginTimeoutMsDefault);
    stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= pluginStdoutBytesMax) chunks.push(chunk);
      else child.kill('SIGKILL');
    });
    if (typeof stderrMode === 'function') child.stderr?.on('data', (chunk: Buffer) => stderrMode(chunk.toString('utf8')));
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(chunks).toString('utf8'), timedOut });
    });
    stdin.on('error', () => { /* the plugin may exit without reading stdin (VERSION); its exit status decides */ });
    stdin.end(options.stdin);
  });
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** The error a failed plugin reported on stdout, or one describing how it failed. */
function failure(options: Pick<ExecPluginOptions, 'pluginPath' | 'command' | 'timeoutMs'>, outcome: RawOutcome): CniError {
  const what = `${options.pluginPath} ${options.command}`;
  if (outcome.timedOut) return new CniError(CniCode.Internal, `${what} timed out after ${options.timeoutMs ?? pluginTimeoutMsDefault} ms`);
  try {
    const value: unknown = JSON.parse(outcome.stdout);
    if (isJsonObject(value) && typeof value['code'] === 'number' && typeof value['msg'] === 'string') {
      const details = typeof value['details'] === 'string' && value['details'] !== '' ? value['details'] : undefined;
      return new CniError(value['code'], value['msg'], details);
    }
  } catch {
    // Not the spec's error object: describe the exit instead.
  }
  const how = outcome.signal !== null ? `was killed by ${outcome.signal}` : `exited with ${outcome.code}`;
  const said = outcome.stdout.trim() === '' ? 'and printed nothing' : `printing ${JSON.stringify(outcome.stdout.slice(0, 500))}`;
  return new CniError(CniCode.Internal, `${what} ${how} ${said}`);
}

/**
 * Runs one plugin process as an engine does: CNI_* in the environment, the configuration on stdin, one JSON document
 * (or nothing) on stdout. A non-zero exit throws the plugin's own CniError (its code, msg and details) when it
 * printed one; otherwise code 999 describing the exit.
 */
export async function execPlugin(options: ExecPluginOptions): Promise<ExecPluginOutput> {
  let outcome: RawOutcome | undefined;
  for (let attempt = 0; outcome === undefined; attempt += 1) {
    try {
      outcome = await spawnOnce(options);
    } catch (error) {
      if (isErrno(error, 'ETXTBSY') && attempt < textBusyRetriesMax) {
        await new Promise((resolve) => setTimeout(resolve, textBusyRetryMs));
        continue;
      }
      throw new CniError(CniCode.Internal, `Cannot run plugin ${options.pluginPath}: ${(error as Error).message}`);
    }
  }
  return interpretOutcome(options, outcome);
}

/** A finished call's result as an engine reads it: the JSON result, or the plugin's CniError (else code 999). */
export function interpretOutcome(options: Pick<ExecPluginOptions, 'pluginPath' | 'command' | 'timeoutMs'>, outcome: RawOutcome): ExecPluginOutput {
  if (outcome.code !== 0 || outcome.timedOut) throw failure(options, outcome);
  if (outcome.stdout.trim() === '') return { output: undefined, stdout: outcome.stdout };
  let value: unknown;
  try {
    value = JSON.parse(outcome.stdout);
  } catch (error) {
    throw new CniError(CniCode.DecodeFailure, `Cannot decode the output of ${options.pluginPath} ${options.command}: ${(error as Error).message}`);
  }
  if (!isJsonObject(value)) throw new CniError(CniCode.DecodeFailure, `Cannot decode the output of ${options.pluginPath} ${options.command}: not a JSON object`);
  return { output: value, stdout: outcome.stdout };
}
