import { configBytesMax } from '../spec/config.js';

/**
 * The frames the CNI shim (cni/shim/shim.c) and berthd exchange after the HTTP upgrade (see README.md here). All
 * integers are unsigned 32-bit big-endian.
 *
 *   call   (shim → berthd): envBytes, env as NAME=VALUE entries each ended by NUL (only CNI_* names), stdinBytes, stdin
 *   answer (berthd → shim): exitCode, stdoutBytes, stdout, stderrBytes, stderr
 */

/** The `Upgrade:` protocol token; the shim and berthd must agree on it (a mismatch is declined: the shim execs). */
export const CNI_UPGRADE_PROTOCOL = 'berth-cni/1';

/** Limits, the same in shim.c. The shim sends at most configBytesMax + 1 bytes of stdin, so an oversized config still
 * reaches the skeleton and gets its code 6 error, as the exec'd plugin gives. */
export const callEnvBytesMax = 64 * 1024;
export const callStdinBytesMax = configBytesMax + 1;
export const answerStdoutBytesMax = 4 * 1024 * 1024;
export const answerStderrBytesMax = 64 * 1024;

export interface CniCall {
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Buffer;
}

export interface CniAnswer {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A frame that breaks the format or a limit: the connection is dropped, nothing is run. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** The variables the shim forwards, selected exactly as shim.c selects them: the name starts with CNI_. */
const cniName = /^CNI_/;

/** Parses the env block: NUL-ended NAME=VALUE entries; names other than CNI_* are refused (the shim sends no others). */
export function decodeEnv(block: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  let start = 0;
  while (start < block.length) {
    const end = block.indexOf(0, start);
    if (end < 0) throw new FrameError('the environment block does not end with NUL');
    const entry = block.toString('utf8', start, end);
    const equals = entry.indexOf('=');
    const name = equals < 0 ? entry : entry.slice(0, equals);
    if (!cniName.test(name)) throw new FrameError(`the environment names ${JSON.stringify(name.slice(0, 40))}, not a CNI_ variable`);
    if (name in env) throw new FrameError(`the environment names ${name} twice`);
    env[name] = entry.slice(equals + 1);
    start = end + 1;
  }
  return env;
}

export function encodeEnv(env: Readonly<Record<string, string>>): Buffer {
  return Buffer.from(Object.entries(env).map(([name, value]) => `${name}=${value}\0`).join(''), 'utf8');
}

function u32(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

function truncated(text: string, bytesMax: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= bytesMax ? bytes : bytes.subarray(0, bytesMax);
}

/** The answer frame; stderr beyond its limit is cut (it is informational), stdout beyond its limit is a bug. */
export function encodeAnswer(answer: CniAnswer): Buffer {
  const stdout = Buffer.from(answer.stdout, 'utf8');
  if (stdout.length > answerStdoutBytesMax) throw new RangeError(`encodeAnswer: stdout of ${stdout.length} bytes exceeds ${answerStdoutBytesMax}`);
  const stderr = truncated(answer.stderr, answerStderrBytesMax);
  return Buffer.concat([u32(answer.exitCode), u32(stdout.length), stdout, u32(stderr.length), stderr]);
}

export function encodeCall(call: CniCall): Buffer {
  const env = encodeEnv(call.env);
  return Buffer.concat([u32(env.length), env, u32(call.stdin.length), call.stdin]);
}

/**
 * Accumulates bytes of a call frame until it is complete: `push` returns the call then, undefined while more is
 * needed, and throws FrameError past a limit or on trailing bytes.
 */
export class CallReader {
  #buffered = Buffer.alloc(0);

  push(chunk: Buffer): CniCall | undefined {
    this.#buffered = Buffer.concat([this.#buffered, chunk]);
    const data = this.#buffered;
    if (data.length < 4) return undefined;
    const envBytes = data.readUInt32BE(0);
    if (envBytes > callEnvBytesMax) throw new FrameError(`the environment block of ${envBytes} bytes exceeds ${callEnvBytesMax}`);
    if (data.length < 8 + envBytes) return undefined;
    const stdinBytes = data.readUInt32BE(4 + envBytes);
    if (stdinBytes > callStdinBytesMax) throw new FrameError(`stdin of ${stdinBytes} bytes exceeds ${callStdinBytesMax}`);
    const total = 8 + envBytes + stdinBytes;
    if (data.length < total) return undefined;
    if (data.length > total) throw new FrameError(`${data.length - total} bytes follow the call frame`);
    return { env: decodeEnv(data.subarray(4, 4 + envBytes)), stdin: data.subarray(8 + envBytes, total) };
  }
}

/** Parses an answer frame (tests and the Node side of the protocol); throws FrameError when malformed or incomplete. */
export function decodeAnswer(data: Buffer): CniAnswer {
  const need = (bytes: number): void => { if (data.length < bytes) throw new FrameError(`the answer frame is cut at ${data.length} bytes`); };
  need(8);
  const exitCode = data.readUInt32BE(0);
  const stdoutBytes = data.readUInt32BE(4);
  need(12 + stdoutBytes);
  const stderrBytes = data.readUInt32BE(8 + stdoutBytes);
  need(12 + stdoutBytes + stderrBytes);
  return {
    exitCode,
    stdout: data.toString('utf8', 8, 8 + stdoutBytes),
    stderr: data.toString('utf8', 12 + stdoutBytes, 12 + stdoutBytes + stderrBytes),
  };
}
