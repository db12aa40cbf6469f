import type { CniPlugin } from '../skel/plugin.js';
import { runPlugin } from '../skel/run.js';
import type { CniCommand, CniEnvironment } from '../spec/env.js';
import { interpretOutcome, type ExecPluginOutput } from './exec.js';

export interface InProcessOptions {
  readonly command: CniCommand;
  readonly env: CniEnvironment;
  readonly stdin: string;
  readonly stderr?: 'inherit' | ((text: string) => void);
}

/**
 * Runs a plugin function exactly as its executable would run (the same skeleton: env, stdin, JSON on stdout, exit
 * code) but in this process, and reads the outcome as execPlugin does. For callers that already run Node (the OCI
 * hook) and would otherwise pay a process start per plugin. No timeout: the caller's own deadline bounds it.
 */
export async function runPluginInProcess(plugin: CniPlugin, options: InProcessOptions): Promise<ExecPluginOutput> {
  let stdout = '';
  const stderr = options.stderr ?? 'inherit';
  const code = await runPlugin(plugin, {
    env: { ...options.env, CNI_COMMAND: options.command },
    readStdin: () => Promise.resolve(options.stdin),
    writeStdout: (text) => { stdout += text; },
    writeStderr: (text) => { if (stderr === 'inherit') process.stderr.write(text); else stderr(text); },
  });
  return interpretOutcome({ pluginPath: `${plugin.name} (in-process)`, command: options.command }, { code, signal: null, stdout, timedOut: false });
}
