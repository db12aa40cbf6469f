import type { CniPlugin } from '../skel/plugin.js';
import { runPlugin } from '../skel/run.js';
import { decodeStdin } from '../skel/stdin.js';
import type { CniAnswer, CniCall } from './frames.js';

export interface ServedCallOptions {
  /** Variables the call sees besides the caller's CNI_* (which win). */
  readonly env: Readonly<Record<string, string>>;
  readonly hostNetns: string | undefined;
}

/**
 * Runs one forwarded call through the same skeleton as the executable (`runPlugin`), in this process: the same
 * parsing, version checks, errors and result encoding, so a served call prints what the exec'd plugin would.
 */
export async function runServedCall(plugin: CniPlugin, call: CniCall, options: ServedCallOptions): Promise<CniAnswer> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runPlugin(plugin, {
    env: { ...options.env, ...call.env },
    readStdin: async () => decodeStdin(call.stdin),
    writeStdout: (text) => { stdout += text; },
    writeStderr: (text) => { stderr += text; },
    ...(options.hostNetns === undefined ? {} : { hostNetns: options.hostNetns }),
  });
  return { exitCode, stdout, stderr };
}
