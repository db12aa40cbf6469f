import { CniCode, CniError } from '../errors.js';
import { readCommand, type CniEnvironment } from '../spec/env.js';
import { declaredVersion, encodeError, encodeVersionInfo, formatJson } from '../spec/output.js';
import { encodeResult, type Result } from '../spec/result.js';
import { CURRENT_VERSION, type CniVersion } from '../spec/version.js';
import type { CniPlugin, CniRequest } from './plugin.js';
import { buildRequest } from './request.js';

/** Everything the skeleton needs from the outside world; `main` binds it to the process, tests to strings. */
export interface PluginIo {
  readonly env: CniEnvironment;
  /** The whole of stdin; may throw a CniError (e.g. 6 when it exceeds the size cap). */
  readStdin(): Promise<string>;
  writeStdout(text: string): void;
  /** Diagnostics (never results); defaults to nowhere. */
  writeStderr?(text: string): void;
  /** The host netns of the call (see CniRequest.hostNetns); undefined: this process's. */
  readonly hostNetns?: string;
}

function assertResult(result: unknown, plugin: string): asserts result is Result {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw new TypeError(`${plugin} ADD returned ${result === null ? 'null' : typeof result} instead of a result`);
  }
}

async function dispatch(plugin: CniPlugin, request: CniRequest): Promise<Result | undefined> {
  switch (request.command) {
    case 'ADD': {
      const result: unknown = await plugin.add(request);
      assertResult(result, plugin.name);
      return result;
    }
    case 'DEL': await plugin.del(request); return undefined;
    case 'CHECK': await plugin.check(request); return undefined;
    case 'STATUS': await plugin.status?.(request); return undefined;
    case 'GC': await plugin.gc?.(request); return undefined;
  }
}

function describeUnexpected(plugin: CniPlugin, command: string, error: unknown): CniError {
  const message = error instanceof Error ? error.message : String(error);
  return new CniError(CniCode.Internal, `${plugin.name} ${command} failed unexpectedly: ${message}`);
}

/**
 * Runs one CNI invocation: reads the command and parameters, answers VERSION, checks the configuration's version
 * against the plugin's and the command's (CHECK needs 0.4.0, STATUS and GC 1.1.0), calls the plugin, prints its
 * result converted to the configuration's version, and prints any error as the spec's JSON. Returns the exit code
 * (0 or 1). Unexpected exceptions become code 999; their stack goes to stderr, never stdout.
 */
export async function runPlugin(plugin: CniPlugin, io: PluginIo): Promise<number> {
  let version: CniVersion = CURRENT_VERSION;
  let command = '';
  try {
    command = readCommand(io.env);
    if (command === 'VERSION') {
      const text = await io.readStdin().catch(() => '');
      io.writeStdout(formatJson(encodeVersionInfo(declaredVersion(text), plugin.supportedVersions)));
      return 0;
    }
    const stdin = await io.readStdin();
    version = declaredVersion(stdin) ?? CURRENT_VERSION;
    const built = buildRequest(io.env, stdin, plugin.supportedVersions);
    const request: CniRequest = io.hostNetns === undefined ? built : { ...built, hostNetns: io.hostNetns };
    version = request.config.cniVersion;
    const result = await dispatch(plugin, request);
    if (result !== undefined) io.writeStdout(formatJson(encodeResult(result, version)));
    return 0;
  } catch (error) {
    if ((io.env['CNI_COMMAND'] ?? '') === '') {
      io.writeStderr?.(`${plugin.name}: a Berth CNI plugin; CNI protocol versions supported: ${plugin.supportedVersions.join(', ')}\n`);
    }
    const cniError = error instanceof CniError ? error : describeUnexpected(plugin, command, error);
    if (!(error instanceof CniError)) io.writeStderr?.(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    io.writeStdout(formatJson(encodeError(cniError, version)));
    return 1;
  }
}
