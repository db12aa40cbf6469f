import { CniCode, CniError } from '../errors.js';
import type { CniRequest, PluginCommand } from '../skel/plugin.js';
import { parseResult, type Result } from '../spec/result.js';
import { findPlugin } from './find.js';

export interface DelegateOptions {
  /** The configuration to pass; the spec says the delegating plugin's own, which is the default. */
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

async function delegate(type: string, command: PluginCommand, request: CniRequest, options: DelegateOptions) {
  const pluginPath = findPlugin(type, request.path);
  // Loaded here, not at the top: node:child_process costs every plugin start ~5 ms, and berth-ipam runs in-process.
  const { execPlugin } = await import('./exec.js');
  return execPlugin({
    pluginPath, command, env: request.env, stdin: options.stdin ?? request.stdin,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

/** Converts a delegated plugin's printed result to the canonical form; a malformed one is code 6. */
export function decodeDelegatedResult(type: string, output: unknown): Result {
  if (output === undefined) throw new CniError(CniCode.DecodeFailure, `Delegated plugin ${type} printed no result for ADD`);
  try {
    return parseResult(output, 'result');
  } catch (error) {
    throw new CniError(CniCode.DecodeFailure, `Cannot decode the result of delegated plugin ${type}: ${(error as Error).message}`);
  }
}

/**
 * Delegation (spec §4): runs plugin `type` from CNI_PATH with the caller's environment (CNI_COMMAND replaced) and
 * the caller's configuration; its stderr goes to ours. ADD returns its result in canonical form.
 */
export async function delegateAdd(type: string, request: CniRequest, options: DelegateOptions = {}): Promise<Result> {
  const { output } = await delegate(type, 'ADD', request, options);
  return decodeDelegatedResult(type, output);
}

export async function delegateDel(type: string, request: CniRequest, options: DelegateOptions = {}): Promise<void> {
  await delegate(type, 'DEL', request, options);
}

export async function delegateCheck(type: string, request: CniRequest, options: DelegateOptions = {}): Promise<void> {
  await delegate(type, 'CHECK', request, options);
}

export async function delegateStatus(type: string, request: CniRequest, options: DelegateOptions = {}): Promise<void> {
  await delegate(type, 'STATUS', request, options);
}

export async function delegateGc(type: string, request: CniRequest, options: DelegateOptions = {}): Promise<void> {
  await delegate(type, 'GC', request, options);
}
