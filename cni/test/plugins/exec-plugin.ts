/** Runs a plugin executable as an engine does, for the exec tests: CNI_* env, config on stdin, one process per call. */
import { spawn } from 'node:child_process';

export interface PluginExit { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** A call that takes longer is killed (SIGKILL) and reported with that signal. */
export const pluginCallTimeoutMs = 30_000;

export interface ExecPluginOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly config: object;
  /** Run inside this netns (nsenter), as an engine in that host would; default: here. */
  readonly netnsPath?: string;
}

export function execPlugin(file: string, options: ExecPluginOptions): Promise<PluginExit> {
  const argv = options.netnsPath === undefined ? [file] : ['nsenter', `--net=${options.netnsPath}`, file];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? file, argv.slice(1), {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), pluginCallTimeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin.end(JSON.stringify(options.config));
  });
}
