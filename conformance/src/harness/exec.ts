import { execFile } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

const execTimeoutMsDefault = 30_000;

/** Runs a command to completion and reports its exit code instead of throwing on a non-zero one. */
export function execCommand(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('execCommand needs a command');
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, {
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? execTimeoutMsDefault,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number' && error.signal === null) {
        reject(new Error(`Cannot run ${argv.join(' ')}: ${error.message}`));
        return;
      }
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 128;
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like execCommand, but a non-zero exit is an error that quotes the command and its stderr. */
export async function execChecked(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
  const result = await execCommand(argv, options);
  if (result.code !== 0) {
    throw new Error(`${argv.join(' ')} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result.stdout;
}
